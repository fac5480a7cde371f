"""What the demo runs inside its own process: the web server, a Celery worker and beat, the simulator.

Why one process: the default broker is Celery's in-memory transport, which only reaches a worker
in the same process, and one process is one Ctrl-C to stop. Each service runs on daemon threads
and has ``start()`` and ``stop()``; ``stop()`` waits for its threads (with a bound), so the demo
ends with every request answered and every task it took finished or given back.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from typing import Any

from celery import Celery
from celery.beat import Scheduler, Service
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

logger = logging.getLogger("demo")

#: How long a service may take to stop before the demo gives up waiting for it.
STOP_TIMEOUT = 15.0


def _bind(factory: Any, host: str, port: int) -> Any:
    """``factory((host, port))``, or on any free port when ``port`` is taken (or 0)."""
    try:
        return factory((host, port))
    except OSError as exc:
        if port == 0 or exc.errno not in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise
        logger.info("Port %s is taken; using a free one.", port)
        return factory((host, 0))


class WebServer:
    """Django's development server (threaded, static files served) on a thread, stoppable.

    It logs each request to the ``django.server`` logger, as ``runserver`` does.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.host = host
        self.port = port
        self._httpd: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "not started"
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> WebServer:
        self._httpd = _bind(
            lambda address: ThreadedWSGIServer(address, WSGIRequestHandler), self.host, self.port
        )
        self._httpd.set_app(StaticFilesHandler(get_wsgi_application()))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="demo-web", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        self._httpd = None


class Worker:
    """A Celery worker consuming on a thread, with a pool of threads running the tasks."""

    def __init__(self, app: Celery, *, concurrency: int = 4, loglevel: str = "WARNING") -> None:
        self.app = app
        self.concurrency = concurrency
        self.loglevel = loglevel
        self._ready = threading.Event()
        self._controller: Any = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> Worker:
        self._controller = self.app.WorkController(
            hostname=f"demo@{socket.gethostname()}",
            pool_cls="threads",
            concurrency=self.concurrency,
            loglevel=self.loglevel,
            ready_callback=lambda consumer: self._ready.set(),
            # One worker on a private broker: no one to gossip, mingle or send heartbeats to.
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        self._thread = threading.Thread(target=self._controller.start, name="demo-celery-worker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the Celery worker did not start within {timeout:g} seconds")
        return self

    def stop(self) -> None:
        if self._controller is None:
            return
        self._controller.stop(in_sighandler=False)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        self._controller = None


class Beat:
    """Celery beat on a thread, with its schedule kept in memory (no ``celerybeat-schedule`` file)."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self._service: Service | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Beat:
        # A short max interval so that stop() does not wait long for the loop to notice.
        self._service = Service(self.app, max_interval=1, scheduler_cls=Scheduler)
        self._thread = threading.Thread(target=self._service.start, name="demo-celery-beat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._service is None:
            return
        self._service.stop()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        self._service = None
