"""Send and receive SMS through the Zoom Connect REST API from Django."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

__all__ = ["__version__", "apply_retention", "erase_number", "send_bulk", "send_sms"]

if TYPE_CHECKING:
    from .services.erasure import erase_number
    from .services.outbox import send_bulk, send_sms
    from .services.retention import apply_retention

#: Names resolved on first use, so that importing the package (settings, the client, the
#: simulator) never imports models before Django's app registry is ready.
_LAZY = {
    "send_sms": "django_zoomconnect.services.outbox",
    "send_bulk": "django_zoomconnect.services.outbox",
    "erase_number": "django_zoomconnect.services.erasure",
    "apply_retention": "django_zoomconnect.services.retention",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
