"""The admin of bulk sends: each batch's progress and status counts, linked to its messages, and its levers.

The list counts the messages of every batch on the page in one aggregate query
(:func:`~django_zoomconnect.services.progress.batch_progress`), never one per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from .. import conf
from ..models import Batch, Message, MessageStatus
from ..services import progress
from ..services.outbox import selection
from .base import AccountFilter, Outcome, ReadOnlyPage, SendPermission, by_status, confirmed

if TYPE_CHECKING:
    _BatchAdmin = admin.ModelAdmin[Batch]
else:
    _BatchAdmin = admin.ModelAdmin

#: The batch page's collapsed section: how the send was cut and paced.
_PACING = ("chunk_size", "chunk_count", "messages_per_minute")
#: Where a batch's :class:`~django_zoomconnect.services.progress.Progress` waits for its row.
_COUNTED = "_zoomconnect_progress"


class BatchChangeList(ChangeList):
    """The batch list: the page's batches counted by status in one query once the page is known."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rows = list(self.result_list)  # evaluated once; the template iterates the same rows
        counted = progress.batch_progress(batch.pk for batch in rows)
        for batch in rows:
            setattr(batch, _COUNTED, counted[batch.pk])


def _batch_messages_by_status(model_admin: Any, batches: QuerySet[Batch]) -> list[str]:
    """A batch action's confirmation page: the batches' messages counted by status."""
    return by_status(Message.objects.filter(batch__in=batches.values("pk")))


@admin.register(Batch)
class BatchAdmin(ReadOnlyPage, SendPermission, _BatchAdmin):
    list_display = ("__str__", "progress_bar", "status", "campaign", "group", "when")
    list_filter = (
        AccountFilter,
        "status",
    )
    search_fields = ("campaign",)
    raw_id_fields = ("group", "template")
    actions = ("cancel_remaining", "retry_failed")

    class Media:
        css = {"all": ("zoomconnect/admin/messages.css",)}

    def get_readonly_fields(self, request: HttpRequest, obj: Batch | None = None) -> list[str]:
        return ["progress_bar", *(field.name for field in Batch._meta.fields)]

    def get_fieldsets(self, request: HttpRequest, obj: Batch | None = None) -> Any:
        # With one account, its alias tells an operator nothing.
        hidden = {"id", *_PACING, *(() if conf.has_several_accounts() else ("account",))}
        shown = [name for name in self.get_readonly_fields(request, obj) if name not in hidden]
        technical = {"classes": ("collapse",), "fields": _PACING}
        return ((None, {"fields": shown}), (_("Technical"), technical))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Batch]:
        return super().get_queryset(request).select_related("group", "template")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BatchChangeList

    @admin.display(description=_("when"), ordering=Coalesce("send_at", "created_at"))
    def when(self, obj: Batch) -> str:
        """Made, or scheduled: one column, so that the list fits beside the filters."""
        if obj.send_at is None:
            return date_format(localtime(obj.created_at), "DATETIME_FORMAT")
        return _("scheduled for %s") % date_format(localtime(obj.send_at), "DATETIME_FORMAT")

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: Batch) -> str:
        counted = getattr(obj, _COUNTED, None) or progress.batch_progress([obj.pk])[obj.pk]
        messages = reverse(
            f"admin:{self.opts.app_label}_message_changelist", current_app=self.admin_site.name
        )
        counts = [
            {
                "status": status,
                "label": MessageStatus(status).label,
                "count": count,
                "stage": progress.stage(status),
                "url": f"{messages}?{urlencode({'batch__id__exact': obj.pk, 'status__exact': status})}",
            }
            for status, count in counted.counts.items()
        ]
        return render_to_string(
            "admin/zoomconnect/batch/progress.html", {"progress": counted, "counts": counts}
        )

    @confirmed(
        description=_("Cancel the remaining messages of the selected batches"),
        question=_(
            "Cancel what these batches have not sent yet? Queued messages are never sent, ones Zoom "
            "Connect holds for later are deleted there, and the batches are marked cancelled. "
            "Messages being sent, or already sent, are left alone."
        ),
        confirm_label=_("Yes, cancel the rest"),
        permissions=["change"],
        preview=_batch_messages_by_status,
    )
    def cancel_remaining(self, request: HttpRequest, queryset: QuerySet[Batch]) -> Outcome:
        return selection.cancel_batches(queryset).as_dict()

    @confirmed(
        description=_("Retry the failed messages of the selected batches"),
        question=_(
            "Send the failed messages of these batches again? Each is a new SMS, charged again; "
            "numbers that opted out are left alone."
        ),
        confirm_label=_("Yes, send them again"),
        permissions=["change_and_send"],
        preview=_batch_messages_by_status,
    )
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Batch]) -> Outcome:
        return selection.retry_batches(queryset).as_dict()
