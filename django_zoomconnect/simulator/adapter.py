"""An in-process ``requests`` transport that answers from a :class:`Simulator`, with no sockets.

Tests mount it on a URL prefix (``session.mount(prefix, SimulatorAdapter(sim))``, or the
client's ``mount_transport``) and every request to that prefix is answered by
:meth:`Simulator.handle` in the calling thread: nothing listens, nothing sleeps, nothing is
flaky. Transport faults raise exactly what ``requests`` raises on a real network, built the same
way (the same exception classes wrapping the same ``urllib3`` reasons), so code that tells a
refused connection from a lost one behaves here as it would in production.
"""

from __future__ import annotations

import http
import io
from collections.abc import Iterable, Mapping
from http.client import RemoteDisconnected
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.connection import HTTPConnection
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.util import Timeout

if TYPE_CHECKING:
    from .core import Simulator
    from .http import SimulatorResponse

    TimeoutArg = float | tuple[float | None, float | None] | Timeout | None

__all__ = ["SimulatorAdapter", "read_timeout_of"]


def read_timeout_of(timeout: Any) -> float | None:
    """The read timeout ``requests`` would apply for ``timeout`` (``None`` waits for ever)."""
    if timeout is None:
        return None
    if isinstance(timeout, Timeout):
        value = timeout.read_timeout
        return None if value is None else float(value)
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError(
                f"Invalid timeout {timeout}. Pass a (connect, read) timeout tuple, "
                "or a single float to set both timeouts to the same value."
            )
        read = timeout[1]
        return None if read is None else float(read)
    return float(timeout)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    if isinstance(body, Iterable):
        return b"".join(_body_bytes(chunk) for chunk in body)
    raise TypeError(f"cannot send a request body of type {type(body).__name__}")


class SimulatorAdapter(BaseAdapter):
    """A ``requests`` adapter whose "network" is a :class:`Simulator`'s :meth:`handle`.

    The simulator is shared, not copied: what a test injects or inspects on it applies to every
    session the adapter is mounted on.
    """

    def __init__(self, simulator: Simulator) -> None:
        super().__init__()
        self.simulator = simulator

    def __repr__(self) -> str:
        return f"<SimulatorAdapter for {self.simulator!r}>"

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: TimeoutArg = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        parts = urlsplit(url)
        method = (request.method or "GET").upper()
        headers = CaseInsensitiveDict(request.headers)
        body = _body_bytes(request.body)
        read_timeout = read_timeout_of(timeout)

        answer = self.simulator.handle(method, parts.path or "/", parts.query, headers, body)

        fault = answer.fault
        if fault is not None:
            host = parts.hostname or "localhost"
            port = parts.port or (443 if parts.scheme == "https" else 80)
            if fault.kind == "refuse":
                raise self._refused(request, host, port, parts.path)
            if fault.kind == "drop":
                disconnected = RemoteDisconnected("Remote end closed connection without response")
                raise requests.ConnectionError(
                    ProtocolError("Connection aborted.", disconnected), request=request
                )
            if fault.kind == "delay" and read_timeout is not None and fault.seconds >= read_timeout:
                # What urllib3 raises when the socket read times out; nobody sleeps here.
                timed_out = ReadTimeoutError(
                    None,  # type: ignore[arg-type]  # no pool: there is no connection
                    url,
                    f"Read timed out. (read timeout={read_timeout:g})",
                )
                raise requests.ReadTimeout(timed_out, request=request)
            # A delay shorter than the read timeout is only a slow answer: answer now.
        return self._build_response(request, answer)

    @staticmethod
    def _refused(
        request: requests.PreparedRequest, host: str, port: int, path: str
    ) -> requests.ConnectionError:
        refused = ConnectionRefusedError(111, "Connection refused")
        connection = HTTPConnection(host, port)
        reason = NewConnectionError(connection, f"Failed to establish a new connection: {refused}")
        reason.__cause__ = refused
        exhausted = MaxRetryError(None, path or "/", reason=reason)  # type: ignore[arg-type]
        return requests.ConnectionError(exhausted, request=request)

    def _build_response(
        self, request: requests.PreparedRequest, answer: SimulatorResponse
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = answer.status
        try:
            response.reason = http.HTTPStatus(answer.status).phrase
        except ValueError:
            response.reason = ""
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        for name, value in answer.headers:
            # Repeated headers are folded the way urllib3 folds them.
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        response.headers = headers
        response.encoding = get_encoding_from_headers(headers)
        response.raw = io.BytesIO(answer.body)
        response._content = answer.body
        response._content_consumed = True  # type: ignore[attr-defined]
        response.url = request.url or ""
        response.request = request
        response.connection = self  # type: ignore[assignment]  # any adapter can answer
        return response

    def close(self) -> None:
        """Nothing to release: there is no connection pool."""
