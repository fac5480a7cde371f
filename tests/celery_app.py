"""The test suite's Celery app: the package only declares shared tasks, a project owns the app.

Configured from Django settings (``CELERY_*``): the memory broker by default, Redis in CI. Real
worker processes start it with ``celery -A tests.celery_app worker`` and
``DJANGO_SETTINGS_MODULE`` pointing at the settings to use.
"""

import os

import django
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = os.environ.get("ZOOMCONNECT_TEST_QUEUE", "zoomconnect-tests")
if app.conf.broker_url.startswith("memory://"):
    # The memory transport polls its queues; a worker in a test should not sleep a second per hop.
    app.conf.broker_transport_options = {"polling_interval": 0.01}
app.set_current()
app.set_default()

import django_zoomconnect.tasks  # noqa: E402, F401  (registers the shared tasks on this app)
