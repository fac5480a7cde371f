"""The example project's package; importing it loads the Celery app, so ``shared_task`` finds it."""

from .celery import app as celery_app

__all__ = ["celery_app"]
