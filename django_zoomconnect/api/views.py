"""REST API views: parse the request, call one service, render the rows; no business rules here.

Sending goes through :func:`~django_zoomconnect.services.sending.send_sms` and
:func:`~django_zoomconnect.services.sending.send_bulk` exactly as app code would, so the API
gets the same validation, opt-out rules and exactly-once outbox. A refusal by the service is a
400 whose ``detail`` is the service's own explanation.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from ..models import Batch, Message, Template
from ..services import sending
from . import serializers
from .filters import filter_messages
from .permissions import SettingsPermissionsMixin

__all__ = ["BatchViewSet", "MessageViewSet", "Pagination", "TemplateViewSet"]


class Pagination(PageNumberPagination):
    """Pages of 50 by default; ``?page_size=`` up to 500. Lists of messages grow without bound."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class SendRefused(APIException):
    """The sending service refused the request (nothing was written)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "send_refused"


class InsufficientCredit(SendRefused):
    default_code = "insufficient_credit"


def refused(exc: sending.SendError) -> APIException:
    if isinstance(exc, sending.InsufficientCreditError):
        return InsufficientCredit(str(exc))
    return SendRefused(str(exc))


class APIViewSet(SettingsPermissionsMixin, viewsets.GenericViewSet[Any]):
    """What every viewset of the API shares: permissions from settings, pagination."""

    pagination_class = Pagination


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, APIViewSet):
    """``messages/``: list and filter, detail with status history, send, bulk send, cancel, retry."""

    queryset = Message.objects.all()

    def get_queryset(self) -> QuerySet[Message]:
        queryset = Message.objects.all()
        if self.action == "list":
            return filter_messages(queryset, self.request.query_params)
        if self.action == "retrieve":
            return queryset.prefetch_related("status_changes")
        return queryset

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        classes: dict[str | None, type[BaseSerializer[Any]]] = {
            "retrieve": serializers.MessageDetailSerializer,
            "send": serializers.SendSerializer,
            "bulk": serializers.BulkSendSerializer,
        }
        return classes.get(self.action, serializers.MessageSerializer)

    @action(detail=False, methods=["post"])
    def send(self, request: Request) -> Response:
        """Queue one SMS; 201 with the message (``REJECTED`` when the number opted out)."""
        data = self._valid(request)
        try:
            message = sending.send_sms(
                data.get("to") or None,
                data.get("body"),
                send_at=data.get("send_at"),
                campaign=data.get("campaign"),
                data_field=data.get("data_field"),
                template=data.get("template"),
                context=data.get("context"),
                contact=data.get("contact"),
            )
        except sending.SendError as exc:
            raise refused(exc) from None
        message.refresh_from_db()
        return Response(serializers.MessageDetailSerializer(message).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Queue one batch; 201 with the batch and its counts by status."""
        data = self._valid(request)
        try:
            batch = sending.send_bulk(
                recipients=data.get("recipients"),
                contacts=data.get("contacts"),
                group=data.get("group"),
                body=data.get("body"),
                template=data.get("template"),
                context=data.get("context"),
                send_at=data.get("send_at"),
                campaign=data.get("campaign"),
            )
        except sending.SendError as exc:
            raise refused(exc) from None
        batch = serializers.with_status_counts(Batch.objects.filter(pk=batch.pk)).get()
        return Response(serializers.BatchSerializer(batch).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel the message if it has not been sent yet; ``{"cancelled": 0 or 1, ...}``."""
        message = self.get_object()
        count = sending.cancel(message)
        message.refresh_from_db()
        return Response({"cancelled": count, "message": serializers.MessageSerializer(message).data})

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Send a failed message again (a copy when the provider had accepted it); ``{"queued": n}``."""
        message = self.get_object()
        return Response({"queued": sending.retry(message)})

    def _valid(self, request: Request) -> dict[str, Any]:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        return data


class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, APIViewSet):
    """``batches/``: bulk sends with their counts by status; cancel and retry."""

    queryset = Batch.objects.all()
    serializer_class = serializers.BatchSerializer

    def get_queryset(self) -> QuerySet[Batch]:
        return serializers.with_status_counts(Batch.objects.all())

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel the batch's messages not sent yet; ``{"cancelled": n, "batch": {...}}``."""
        batch = self.get_object()
        count = sending.cancel(batch)
        return Response({"cancelled": count, "batch": self._fresh(batch)})

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Send the batch's failed messages again; ``{"queued": n, "batch": {...}}``."""
        batch = self.get_object()
        count = sending.retry(batch)
        return Response({"queued": count, "batch": self._fresh(batch)})

    def _fresh(self, batch: Batch) -> Any:
        return serializers.BatchSerializer(self.get_queryset().get(pk=batch.pk)).data


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, APIViewSet):
    """``templates/``: read only (the provider's API cannot create or change templates)."""

    queryset = Template.objects.all()
    serializer_class = serializers.TemplateSerializer
