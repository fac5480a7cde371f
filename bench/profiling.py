"""Where the time goes: ``python -m bench.profiling [--db sqlite|postgres|both] [--reports N] ...``.

Profiles (``cProfile``), in a child on a fresh database each:

* **the webhook view**: ``--reports`` delivery reports through the project's WSGI application
  (the middleware of a new project, the default ``"sync"`` mode), called in-process, beside the
  floor view on the same reports;
* **send_bulk**: ``--messages`` recipients with ``SEND_EAGERLY`` against the simulator process
  over loopback (time waiting for it shows as socket reads).

For each it prints the time per unit, the time by layer (the database driver, Django's ORM,
the rest of Django, the package, HTTP, phonenumbers, JSON) and the functions that take the most
time themselves and, within the package, with what they call.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from . import plumbing

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database: driver, commits, Django's backend", ("sqlite", "psycopg", "/django/db/backends/")),
    ("Django ORM and SQL compiler", ("/django/db/",)),
    ("Django (request, middleware, signals, rest)", ("/django/",)),
    ("django_zoomconnect", ("/django_zoomconnect/",)),
    ("HTTP client and sockets", ("/requests/", "/urllib3/", "http/client.py", "socket", "ssl", "selectors")),
    ("phonenumbers", ("phonenumbers",)),
    ("JSON", ("/json/", "json")),
)


def layer(filename: str, function: str) -> str:
    text = f"{filename} {function}".lower()
    for name, marks in LAYERS:
        if any(mark in text for mark in marks):
            return name
    return "other (Python, stdlib)"


def report(
    title: str, profile: cProfile.Profile, units: int, unit: str, top: int, *, package: bool = True
) -> str:
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    by_layer: Counter[str] = Counter()
    for (filename, _, function), entry in raw.items():
        by_layer[layer(filename, function)] += entry[2]
    out = [f"== {title}: {total:.2f}s profiled, {total / units * 1000:.3f} ms per {unit}", "", "by layer:"]
    out += [f"  {seconds / total:6.1%}  {seconds:7.3f}s  {name}" for name, seconds in by_layer.most_common()]
    out += ["", f"the {top} functions taking most time themselves (tottime):"]
    out += _listing(stats, "tottime", top, None)
    if package:
        out += ["", f"the package's {top} functions with most time, callees included (cumtime):"]
        out += _listing(stats, "cumulative", top, "django_zoomconnect")
    return "\n".join(out)


def _listing(stats: pstats.Stats, key: str, top: int, within: str | None) -> list[str]:
    buffer = io.StringIO()
    stats.stream = buffer  # type: ignore[attr-defined]
    stats.sort_stats(key).print_stats(*([within] if within else []), top)
    lines = buffer.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return [
        "  " + line.replace(str(plumbing.ROOT) + "/", "").replace(sys.prefix + "/", "")
        for line in lines[start:]
        if line.strip()
    ]


def profiled(action: Callable[[], Any]) -> cProfile.Profile:
    profile = cProfile.Profile()
    profile.enable()
    try:
        action()
    finally:
        profile.disable()
    return profile


def wsgi_post(application: Any, path: str, body: bytes) -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    statuses: list[str] = []
    response = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(response)
    response.close()
    if not statuses[0].startswith("200"):
        raise RuntimeError(f"{path} answered {statuses[0]}")


def child(options: argparse.Namespace) -> None:
    db = plumbing.setup_django()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    from .sending import bulk
    from .urls import FLOOR_PATH, REPORT_PATH
    from .webhooks import reports

    print(f"\n######## {db}\n", flush=True)
    application = get_wsgi_application()
    count = options.reports
    bodies = reports("p", count + 20)
    for body in bodies[:20]:  # warm up both
        wsgi_post(application, FLOOR_PATH, body)
        wsgi_post(application, REPORT_PATH, body)
    timed = bodies[20:]
    floor = profiled(lambda: [wsgi_post(application, FLOOR_PATH, body) for body in timed])
    view = profiled(lambda: [wsgi_post(application, REPORT_PATH, body) for body in timed])
    print(
        report(f"the floor view on {db}, {count} requests", floor, count, "request", 5, package=False),
        end="\n\n",
    )
    print(
        report(f"the webhook view (sync) on {db}, {count} reports", view, count, "report", options.top),
        end="\n\n",
    )

    with (
        plumbing.simulator_process() as url,
        override_settings(ZOOMCONNECT={**settings.ZOOMCONNECT, "BASE_URL": url}),
    ):
        bulk(plumbing.numbers(10, 9_000_000))  # warm up
        sending = profiled(lambda: bulk(plumbing.numbers(options.messages, 1_000_000)))
    print(
        report(f"send_bulk of {options.messages} on {db}", sending, options.messages, "message", options.top)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--reports", type=int, default=1000, help="delivery reports profiled (1000)")
    parser.add_argument("--messages", type=int, default=10_000, help="recipients of the profiled send_bulk")
    parser.add_argument("--top", type=int, default=15, help="functions listed (15)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        child(options)
        return 0
    databases = plumbing.DATABASES if options.db == "both" else (options.db,)
    arguments = [f"--reports={options.reports}", f"--messages={options.messages}", f"--top={options.top}"]
    with plumbing.scratch_directory() as directory:
        for db in databases:
            with plumbing.database(db, directory) as env:
                command = [sys.executable, "-m", "bench.profiling", "--child", *arguments]
                completed = subprocess.run(
                    command, cwd=plumbing.ROOT, env=plumbing.child_env(env), check=False
                )
                if completed.returncode:
                    return completed.returncode
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
