"""A real threaded HTTP server for the simulator: loopback sockets, keep-alive, transport faults.

The stdlib's :class:`~http.server.ThreadingHTTPServer` handles each connection in a thread and
speaks HTTP/1.1 with keep-alive, so one ``requests.Session`` reuses one connection: that is what
makes bulk sends fast. Every request is handed to :meth:`Simulator.handle`; a transport fault in
the answer is acted out on the socket:

``delay``
    the answer is held back ``seconds`` (the client's read timeout fires first);
``drop``
    the request was processed; the connection is closed without an answer (the client sees the
    remote end disconnect);
``refuse``
    a connection that is already open cannot be refused, and a listening socket cannot refuse
    one connection and accept the next. So the server refuses **before** the request exists:
    it can stop listening and listen again on the same port (every connection attempt in
    between is refused by the kernel, exactly as a dead server's). Connection attempts from the
    same process (the test suite, the live pytest fixture) are seen through an audit hook on
    ``socket.connect``: an attempt that finds an armed ``refuse`` fault without a method or path
    filter consumes it and is refused; the next attempt finds the server listening again. So
    ``inject_fault("refuse", count=2)`` refuses exactly the next two connections. A refusal the
    simulator decides only once it has read a request (a fault filtered by path or method, or a
    request that arrived on a connection kept alive from before the fault was armed) is acted
    out as the nearest thing: the connection is reset without an answer, and the request was
    not processed. :meth:`SimulatorServer.refuse_connections` refuses for a count of in-process
    attempts or for a number of seconds, whatever the client, for out-of-process clients.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import select
import socket
import socketserver
import struct
import sys
import threading
import time
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from requests.structures import CaseInsensitiveDict

from .core import Simulator

__all__ = ["ServedSimulator", "SimulatorServer"]

logger = logging.getLogger("django_zoomconnect.simulator.server")

#: Largest request body accepted (a send-bulk of tens of thousands of messages fits easily).
MAX_BODY_BYTES = 64 * 1024 * 1024
_BACKLOG = 128
# A connection's state, for closing idle keep-alive connections when a refusal is armed.
_IDLE, _BUSY, _ANSWERING, _CLOSING = "idle", "busy", "answering", "closing"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "0.0.0.0", "::"})  # noqa: S104


class _HTTPServer(ThreadingHTTPServer):
    """The stdlib server, bound by us to a fixed port so it can stop and resume listening."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = _BACKLOG

    def __init__(self, owner: SimulatorServer, address: tuple[str, int], family: int) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, _RequestHandler, bind_and_activate=False)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host up with getfqdn(): a DNS round trip for
        # nothing, and slow on machines without a resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is normal here (timeouts, faults); anything else is
        # worth a log line, not a traceback on stderr.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        logger.exception("simulator server: error while serving %s", client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one request, asks the simulator, writes its answer or acts out its fault."""

    protocol_version = "HTTP/1.1"
    server_version = "ZoomConnectSimulator"
    sys_version = ""
    server: _HTTPServer
    #: A connection idle longer than this is closed, as real servers do.
    timeout = 120
    # Headers and body leave in one segment, and small segments leave at once: otherwise Nagle's
    # algorithm and the client's delayed ACK add 40 ms to every answer.
    wbufsize = 256 * 1024
    disable_nagle_algorithm = True

    def handle(self) -> None:
        owner = self.server.owner
        owner._track(self.connection, _IDLE)
        try:
            self.close_connection = True
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True
        finally:
            owner._untrack(self.connection)

    def _serve(self) -> None:
        owner = self.server.owner
        owner._track(self.connection, _BUSY)
        body = self._read_body()
        if body is None:
            return
        parts = urlsplit(self.path)
        headers = CaseInsensitiveDict(self.headers.items())
        answer = owner.simulator.handle(self.command, parts.path or "/", parts.query, headers, body)
        fault = answer.fault
        if fault is not None:
            if fault.kind == "refuse":
                logger.debug("simulator server: %s %s refused (reset)", self.command, parts.path)
                self._reset()
                return
            if fault.kind == "drop":
                logger.debug("simulator server: %s %s dropped", self.command, parts.path)
                self._hang_up()
                return
            if fault.kind == "delay" and owner._stopping.wait(fault.seconds):
                self._hang_up()
                return
        # A refusal armed now must happen at connect(): tell the client not to reuse this
        # connection. Past this point the client may read the answer and act, so the server
        # owes it an accurate Connection header.
        if owner._answering(self.connection):
            self.close_connection = True
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
        self.wfile.flush()
        owner._track(self.connection, _CLOSING if self.close_connection else _IDLE)
        logger.debug("simulator server: %s %s -> %s", self.command, parts.path, answer.status)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self.send_error(413, "Request body too large")
            return None
        return self.rfile.read(length) if length else b""

    def _hang_up(self) -> None:
        """Close without an answer: the client sees the remote end disconnect."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reset(self) -> None:
        """Abort the connection (RST), without an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib writes every request to stderr; the path can hold query credentials.
        logger.debug("simulator server: " + format, *args)


# --- seeing connection attempts: one audit hook for the whole process ------------------------

_servers: weakref.WeakSet[SimulatorServer] = weakref.WeakSet()
_hook_lock = threading.Lock()
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect" or not _servers:
        return
    try:
        address = args[1]
        if isinstance(address, tuple) and len(address) >= 2:
            for server in list(_servers):
                server._connect_attempt(str(address[0]), int(address[1]))
    except Exception:  # an audit hook must never break the caller's connect()
        logger.exception("simulator server: audit hook failed")


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True


def _free_port(host: str, family: int) -> int:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class SimulatorServer:
    """Serve a :class:`Simulator` over real HTTP on ``host:port`` (``port=0``: any free port).

    ``start()`` serves from a background thread and returns at once; ``serve_forever()`` blocks
    (the CLI). Used as a context manager it starts and stops itself. With ``background=True``
    the simulator's own background thread (lifecycle ticks, webhook delivery) runs while the
    server does.
    """

    def __init__(
        self,
        simulator: Simulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        background: bool = True,
    ) -> None:
        self.simulator = simulator
        self.host = host
        self.background = background
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._requested_port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.RLock()
        self._answered = threading.Condition(self._lock)
        self._listening = False
        self._refuse_remaining = 0
        self._refuse_until: float | None = None
        self._connections: dict[socket.socket, str] = {}
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._background_started = False
        #: Connections accepted so far (a keep-alive client opens one and keeps it).
        self.connections_accepted = 0

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the simulator server is not started")
        return self._httpd.server_port

    @property
    def url(self) -> str:
        """The base URL to configure as ``ZOOMCONNECT["BASE_URL"]``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/app/"

    @property
    def control_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/_simulator/"

    def _bind(self) -> None:
        last: OSError | None = None
        for _ in range(10):
            port = self._requested_port or _free_port(self.host, self._family)
            httpd = _HTTPServer(self, (self.host, port), self._family)
            try:
                # An explicit port keeps the port ours while we stop listening (shutdown()
                # on a socket bound to port 0 would give the port back).
                httpd.server_bind()
                httpd.socket.listen(_BACKLOG)
            except OSError as exc:
                httpd.server_close()
                if exc.errno != errno.EADDRINUSE or self._requested_port:
                    raise
                last = exc
                continue
            httpd.socket.setblocking(False)
            self._httpd = httpd
            self._listening = True
            return
        raise last or OSError("no free port")

    def start(self) -> Self:
        """Listen and serve from a background thread; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the simulator server is already started")
        self._bind()
        self._wake_r, self._wake_w = socket.socketpair()
        _install_hook()
        _servers.add(self)
        if isinstance(self.simulator, ServedSimulator):
            self.simulator.servers.add(self)
        self._thread = threading.Thread(
            target=self._serve, name=f"zoomconnect-simulator:{self.port}", daemon=True
        )
        self._thread.start()
        if self.background:
            self.simulator.start_background()
            self._background_started = True
        return self

    def serve_forever(self) -> None:
        """Start if needed, then block until :meth:`stop` (from a signal handler or a thread)."""
        if self._thread is None:
            self.start()
        while not self._stopping.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop listening, close every connection, stop the simulator's background thread."""
        self._stopping.set()
        _servers.discard(self)
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._httpd is not None:
            self._httpd.server_close()
        if self._background_started:
            self.simulator.stop_background()
            self._background_started = False
        for end in (self._wake_r, self._wake_w):
            if end is not None:
                end.close()

    def __enter__(self) -> Self:
        return self.start() if self._thread is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "not started"
        return f"<SimulatorServer {where}>"

    # --- the accept loop ------------------------------------------------------------------

    def _wake(self) -> None:
        if self._wake_w is None:
            return
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _serve(self) -> None:
        httpd, wake = self._httpd, self._wake_r
        assert httpd is not None
        assert wake is not None
        while not self._stopping.is_set():
            with self._lock:
                listening = self._listening
                until = self._refuse_until
            timeout = None
            if not listening and until is not None:
                timeout = max(0.0, until - time.monotonic())
            watched: list[Any] = [wake, httpd.socket] if listening else [wake]
            try:
                readable, _, _ = select.select(watched, [], [], timeout)
            except (OSError, ValueError):
                readable = []
            if wake in readable:
                with contextlib.suppress(OSError):
                    wake.recv(4096)
            if not listening and until is not None and time.monotonic() >= until:
                self.resume()
                continue
            if listening and httpd.socket in readable:
                self._accept_all(httpd)

    def _accept_all(self, httpd: _HTTPServer) -> None:
        while True:
            try:
                connection, address = httpd.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the listener was shut down under us: a refusal began
                return
            connection.setblocking(True)
            self.connections_accepted += 1
            httpd.process_request(connection, address)

    # --- refusing connections -------------------------------------------------------------

    def refuse_connections(self, count: int | None = 1, *, seconds: float | None = None) -> None:
        """Stop listening: the next ``count`` connection attempts are refused by the kernel.

        Attempts are counted only for clients in this process (the audit hook sees them); with
        ``seconds`` the server listens again after that long whatever happened, which is what
        works for a client in another process. ``count=None`` refuses until :meth:`resume`
        or ``seconds``. Idle keep-alive connections are closed, so a client must reconnect.
        """
        if count is None and seconds is None:
            raise ValueError("give a count, seconds, or both")
        with self._lock:
            self._refuse_remaining = -1 if count is None else int(count)
            self._refuse_until = None if seconds is None else time.monotonic() + float(seconds)
            self._stop_listening()
        self.close_idle_connections()
        self._wake()

    def resume(self) -> None:
        """Listen again now, ending any refusal."""
        with self._lock:
            self._refuse_remaining = 0
            self._refuse_until = None
            if not self._listening and self._httpd is not None and not self._stopping.is_set():
                self._httpd.socket.listen(_BACKLOG)
                self._listening = True
        self._wake()

    @property
    def refusing(self) -> bool:
        """Whether connection attempts are being refused right now."""
        return not self._listening

    def _stop_listening(self) -> None:
        # Called with the lock held. shutdown() on a listening socket stops it listening at
        # once (the kernel answers SYNs with RST: "connection refused") and keeps the port.
        if self._listening and self._httpd is not None:
            with contextlib.suppress(OSError):
                self._httpd.socket.shutdown(socket.SHUT_RDWR)
            self._listening = False

    def _is_me(self, host: str, port: int) -> bool:
        if self._httpd is None or port != self._httpd.server_port:
            return False
        return host == self.host or (host in _LOOPBACK and self.host in _LOOPBACK)

    def _connect_attempt(self, host: str, port: int) -> None:
        """Called (through the audit hook) just before a process-local connect() to ``host:port``."""
        if not self._is_me(host, port) or self._stopping.is_set():
            return
        # Lock order, everywhere: the simulator's lock, then the server's.
        with self.simulator.lock, self._lock:
            if self._refuse_remaining > 0:
                self._refuse_remaining -= 1
                self._stop_listening()
                return
            if self._refuse_remaining < 0:
                return  # refusing until resume() or the deadline
            if self._take_armed_refusal():
                self._stop_listening()
                return
        self.resume()

    def _take_armed_refusal(self) -> bool:
        """Consume the simulator's next ``refuse`` fault if it applies to any request.

        A fault filtered by method or path cannot be decided before the request is read (nor
        can one armed after a fault that applies to every request): the connection is let
        through and the simulator decides when the request arrives.
        """
        return self.simulator.take_connection_refusal()

    def _wants_fresh_connections(self) -> bool:
        if self._refuse_remaining != 0 or self._refuse_until is not None:
            return True
        return self.simulator.connection_refusal_armed()

    def close_idle_connections(self) -> None:
        """Close keep-alive connections waiting for a request, so clients connect anew.

        Call it after arming a ``refuse`` fault while clients may hold an open connection:
        the refusal can then happen at ``connect()``. :class:`ServedSimulator` does it for you.
        """
        with self._lock:
            self._answered.wait_for(lambda: _ANSWERING not in self._connections.values(), timeout=1.0)
            idle = [connection for connection, state in self._connections.items() if state == _IDLE]
        for connection in idle:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    # --- connection bookkeeping -----------------------------------------------------------

    def _answering(self, connection: socket.socket) -> bool:
        """Mark ``connection`` as being answered; whether it must close after this answer."""
        fresh = self._wants_fresh_connections()
        with self._lock:
            self._connections[connection] = _ANSWERING
        return fresh

    def _track(self, connection: socket.socket, state: str) -> None:
        with self._lock:
            self._connections[connection] = state
            self._answered.notify_all()

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)
            self._answered.notify_all()


class ServedSimulator(Simulator):
    """A :class:`Simulator` that tells the servers serving it when a refusal is armed.

    Arming ``refuse`` (from Python or the control API) then closes the servers' idle keep-alive
    connections, so that a client holding one connects anew and is refused at ``connect()``,
    instead of seeing its request reset on the old connection. The CLI and the live pytest
    fixture use it; it is an ordinary :class:`Simulator` otherwise.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.servers: weakref.WeakSet[SimulatorServer] = weakref.WeakSet()

    def inject_fault(self, kind: str, **options: Any) -> None:
        super().inject_fault(kind, **options)
        if str(kind) == "refuse":
            for server in list(self.servers):
                server.close_idle_connections()
