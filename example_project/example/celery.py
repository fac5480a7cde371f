"""The project's Celery app: configured from Django settings (``CELERY_*``), tasks autodiscovered.

Start a worker and beat with ``celery -A example worker -B`` (from example_project/, with
``CELERY_BROKER_URL`` pointing at Redis); ``manage.py demo`` runs both inside its own process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

app = Celery("example")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Finds django_zoomconnect.tasks (and any tasks.py of the project's apps).
app.autodiscover_tasks()
