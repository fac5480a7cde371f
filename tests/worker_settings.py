"""Settings for Celery worker processes started by the crash tests (test_outbox_crash.py).

The test process hands its test database, the live simulator's address and the outbox settings
over in the environment, so that a worker in another process writes to the same rows and sends
to the same simulator.
"""

import json
import os

from tests.settings import *  # noqa: F403

DATABASES["default"]["NAME"] = os.environ["ZOOMCONNECT_WORKER_DB_NAME"]  # noqa: F405
ZOOMCONNECT = json.loads(os.environ["ZOOMCONNECT_WORKER_SETTINGS"])
# A killed worker's unacknowledged task comes back after this many seconds (Redis's default is
# an hour): long running tasks may then be delivered twice, which is exactly what claims allow.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": float(os.environ.get("ZOOMCONNECT_WORKER_VISIBILITY", "5"))
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
