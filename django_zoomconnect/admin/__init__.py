"""The Django admin for the mirrored account: thin classes, every write goes through the services.

One module per part of the account (:mod:`.contacts`, :mod:`.messages`, :mod:`.batches`,
:mod:`.events`), on the shared classes of :mod:`.base`. Importing this package registers them all.
"""

from __future__ import annotations

from . import batches, contacts, events, messages
from .base import shown_params

__all__ = ["batches", "contacts", "events", "messages", "shown_params"]
