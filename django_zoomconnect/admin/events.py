"""The admin of the webhook log: read-only evidence of what the provider sent, reprocessed on demand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import (
    WebhookEvent,
)
from ..services import inbound
from .base import AccountFilter, Outcome, confirmed, json_block, shown_params

if TYPE_CHECKING:
    _WebhookEventAdmin = admin.ModelAdmin[WebhookEvent]
else:
    _WebhookEventAdmin = admin.ModelAdmin


@admin.register(WebhookEvent)
class WebhookEventAdmin(_WebhookEventAdmin):
    """The webhook log, read-only: what the provider sent is evidence, never edited."""

    list_display = (
        "received_at",
        "kind",
        "remote_message_id",
        "state",
        "attempts",
        "message",
        "processed_at",
    )
    list_filter = (AccountFilter, "state", "kind")
    # Never "params": a search by checksum would tell whoever guesses one that it exists.
    search_fields = ("remote_message_id", "nonce")
    exclude = ("params",)  # shown by parameters(), checksum masked
    date_hierarchy = "received_at"
    list_select_related = ("message",)
    actions = ("reprocess_selected",)

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEvent | None = None) -> list[str]:
        # Every field, with the raw parameters replaced by a copy whose checksum is masked.
        return ["parameters" if field.name == "params" else field.name for field in WebhookEvent._meta.fields]

    @admin.display(description=_("parameters"))
    def parameters(self, obj: WebhookEvent) -> str:
        return json_block(shown_params(obj.params))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @confirmed(
        description=_("Reprocess selected webhook events"),
        question=_(
            "Process these webhook events again? Failed and deferred ones are applied now if they can "
            "be; processed ones are left alone (processing is idempotent)."
        ),
        confirm_label=_("Yes, reprocess them"),
        permissions=["change"],
    )
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> Outcome:
        selected = queryset.count()
        states = inbound.reprocess_events(queryset.exclude(state=WebhookEvent.State.PROCESSED))
        skipped = selected - sum(states.values())
        return {
            **{str(state): count for state, count in sorted(states.items())},
            "skipped: already processed": skipped,
        }
