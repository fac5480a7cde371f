"""``manage.py demo``: the whole app on one machine with only Python, and ``--once`` for CI.

It migrates a fresh database, creates an admin user, starts one simulator per account
(``default`` and ``marketing``, each wired to its account's webhook URLs with its secret), seeds
and pulls demo contacts, groups and templates, starts a Celery worker and beat and the development
server in this process, and prints what to open. ``--once`` then runs a scripted scenario (the
last step sends through the ``marketing`` account), prints a summary table and exits non-zero if
any step did not reach its expected state. The demo never talks to the real Zoom Connect: each
account's ``BASE_URL`` is pointed at the simulator it starts, whatever the settings say.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.test.utils import override_settings
from django.urls import reverse
from django_zoomconnect import conf
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.models import Contact, Membership, Message, SyncState
from django_zoomconnect.simulator.server import ServedSimulator, SimulatorServer
from django_zoomconnect.urls import webhook_urls

from demo import data, runtime, scenario
from demo.embedded import Beat, WebServer, Worker

LOOPBACK = "127.0.0.1"


class Command(BaseCommand):
    help = (
        "Start the django-zoomconnect demo: SQLite, the Zoom Connect simulator, a Celery worker and "
        "beat, and the development server, all in this process (Ctrl-C stops everything). "
        "--once runs a scripted scenario instead and exits non-zero if it does not complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="run the scripted scenario, print a summary and exit (non-zero if a step failed)",
        )
        parser.add_argument("--port", type=int, default=8000, help="web server port (default: %(default)s)")
        parser.add_argument(
            "--simulator-port",
            type=int,
            default=None,
            help="simulator port (default: the one in ZOOMCONNECT['BASE_URL'], else 8765)",
        )
        parser.add_argument("--username", default="admin", help="admin user name (default: %(default)s)")
        parser.add_argument(
            "--password", default="demo-password", help="admin password (default: %(default)s)"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=90.0,
            help="with --once: seconds to wait for every step (default: %(default)s)",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="empty the database first (needed when DATABASE_URL names a database that holds data)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._quiet_logs()
        try:
            ok = self._run(options)
        except KeyboardInterrupt:  # Ctrl-C while starting: the services started are stopped
            self.stdout.write("")
            raise CommandError("Interrupted.", returncode=130) from None
        if not ok:
            raise CommandError("The demo scenario did not complete: see the table above.", returncode=1)

    def _run(self, options: dict[str, Any]) -> bool:
        """Start everything, serve or run the scenario, stop everything; whether all went well."""
        once: bool = options["once"]
        started = time.monotonic()
        self._prepare_database(reset=options["reset"])
        self._admin(options["username"], options["password"])

        with ExitStack() as services:
            simulator, server = self._start_simulator(0 if once else self._simulator_port(options))
            services.callback(self._stopped, "simulator", server.stop)
            others = {
                alias: self._start_simulator(0 if once else self._simulator_port(options, alias), alias)
                for alias in conf.account_aliases()
                if alias != conf.DEFAULT_ACCOUNT
            }
            for alias, (_, other) in others.items():
                services.callback(self._stopped, f"{alias} simulator", other.stop)
            # Everything in this process now talks to the simulators, never to the real API. Not
            # undone on exit: tasks still finishing while the demo stops must not reach elsewhere.
            accounts = {
                alias: {**settings.ZOOMCONNECT["ACCOUNTS"][alias], "BASE_URL": other.url}
                for alias, (_, other) in others.items()
            }
            override_settings(
                ZOOMCONNECT={**settings.ZOOMCONNECT, "BASE_URL": server.url, "ACCOUNTS": accounts}
            ).enable()

            web = WebServer(LOOPBACK, 0 if once else options["port"]).start()
            services.callback(self._stopped, "web server", web.stop)
            simulator.configure(**webhook_urls(web.url))
            for alias, (other_simulator, _) in others.items():
                other_simulator.configure(**webhook_urls(web.url, account=alias))

            client = ZoomConnectClient.from_settings()
            report = scenario.seed(simulator, client)
            unpushed = Membership.objects.exclude(sync_state=SyncState.SYNCED).count()
            if not report.ok or unpushed:
                problem = report.errors or f"{unpushed} group memberships were not pushed"
                raise CommandError(f"Seeding the demo account failed: {problem}")
            self._say(
                f"Seeded and pulled {Contact.objects.count()} contacts, {len(data.GROUPS)} groups "
                f"and the templates from the simulated account."
            )

            from example.celery import app

            worker = Worker(app, loglevel="WARNING").start()
            services.callback(self._stopped, "Celery worker", worker.stop)
            beat = Beat(app).start()
            services.callback(self._stopped, "Celery beat", beat.stop)
            if once:
                # One line per request is what runserver prints; the scenario's table says more.
                # (Set after the worker started: Celery sets up logging as it starts.)
                logging.getLogger("django.server").setLevel(logging.WARNING)

            runtime.RUNNING.update(
                web=web.url,
                simulator=server.url,
                control=server.control_url,
                accounts=", ".join(f"{alias} ({other.url})" for alias, (_, other) in others.items()),
                username=options["username"],
                password=options["password"],
            )
            self._banner(web.url, server, options["username"], options["password"], once=once)
            for alias, (_, other) in others.items():
                self._say(
                    f"  Account {alias!r}: simulator {other.url}, webhooks "
                    f"{web.url}{reverse('zoomconnect:reply', kwargs={'account': alias})}"
                )
            stop_hint = "" if once else " Press Ctrl-C to stop."
            self._say(f"Ready in {time.monotonic() - started:.1f} s.{stop_hint}")

            if once:
                ok = self._run_scenario(web.url, server, options)
            else:
                self._serve_until_interrupted()
                ok = True
            self._say("Stopping...")
        self._say("Stopped.")
        return ok

    # -- set-up ------------------------------------------------------------------------------------

    def _prepare_database(self, *, reset: bool) -> None:
        """Migrate a fresh database: the simulated account lives in memory, so yesterday's rows
        would point at objects it no longer has."""
        connection = connections["default"]
        own_file = getattr(settings, "DEMO_SQLITE_PATH", None)
        is_own = (
            own_file is not None
            and connection.vendor == "sqlite"
            and Path(str(connection.settings_dict["NAME"])).resolve() == Path(own_file).resolve()
        )
        if is_own:
            connections.close_all()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{own_file}{suffix}").unlink(missing_ok=True)
        self._say(f"Migrating the database ({connection.vendor}: {connection.settings_dict['NAME']})...")
        call_command("migrate", interactive=False, verbosity=0)
        if is_own:
            return
        if Message.objects.exists() or Contact.objects.exists():
            if not reset:
                raise CommandError(
                    "The database named by DATABASE_URL holds data from an earlier run. Run the demo "
                    "with --reset to empty it first (that deletes EVERY row of that database)."
                )
            call_command("flush", interactive=False, verbosity=0)

    def _admin(self, username: str, password: str) -> None:
        user_model = get_user_model()
        lookup: dict[str, Any] = {user_model.USERNAME_FIELD: username}
        user = user_model._default_manager.filter(**lookup).first() or user_model(**lookup)
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()

    @staticmethod
    def _simulator_port(options: dict[str, Any], account: str | None = None) -> int:
        if options["simulator_port"] is not None and account is None:
            return int(options["simulator_port"])
        parts = urlsplit(conf.base_url(account))
        if parts.hostname in (LOOPBACK, "localhost") and parts.port:
            return parts.port
        return 8765 if account is None else 0

    def _start_simulator(
        self, port: int, account: str | None = None
    ) -> tuple[ServedSimulator, SimulatorServer]:
        once = port == 0
        secrets = conf.webhook_secrets(account)
        simulator = ServedSimulator(
            # The simulated account accepts the project's own credentials and signs with its secret.
            email=conf.required("EMAIL", account),
            token=conf.required("API_TOKEN", account),
            secret=secrets[0] if secrets else None,
            # Short enough to watch a status move in the admin; shorter still for --once.
            send_delay=0.2 if once else 1.0,
            delivery_delay=0.3 if once else 3.0,
            reply_delay=0.3 if once else 2.0,
            # Only the demo's own templates, so that their names are unique.
            seed_templates=False,
        )
        try:
            server = SimulatorServer(simulator, host=LOOPBACK, port=port).start()
        except OSError:
            server = SimulatorServer(simulator, host=LOOPBACK, port=0).start()
        return simulator, server

    # -- running -----------------------------------------------------------------------------------

    def _run_scenario(self, web_url: str, server: SimulatorServer, options: dict[str, Any]) -> bool:
        run = scenario.Scenario(
            web_url=web_url,
            control_url=server.control_url,
            username=options["username"],
            password=options["password"],
        )
        started = time.monotonic()
        ok = run.run(timeout=options["timeout"], progress=self._say)
        self.stdout.write("")
        self.stdout.write(scenario.table(run.steps))
        self.stdout.write("")
        verdict = "completed" if ok else "did NOT complete"
        self._say(f"Scenario {verdict} in {time.monotonic() - started:.1f} s.")
        return ok

    def _serve_until_interrupted(self) -> None:
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            self.stdout.write("")
        finally:
            signal.signal(signal.SIGTERM, previous)

    # -- output --------------------------------------------------------------------------------------

    def _banner(self, web: str, server: SimulatorServer, username: str, password: str, *, once: bool) -> None:
        lines = [
            "",
            "django-zoomconnect demo",
            "",
            f"  Start page   {web}/",
            f"  Admin        {web}/admin/   user: {username}   password: {password}",
            f"  REST API     {web}/api/zoomconnect/",
            f"  Simulator    {server.url}   (control API: {server.control_url})",
            f"  Webhooks     {web}{reverse('zoomconnect:reply')}",
            f"               {web}{reverse('zoomconnect:delivery-report')}",
        ]
        if not once:
            send = f"{web}/api/zoomconnect/messages/send/"
            lines += [
                "",
                "Try:",
                "  Send an SMS (or post the same JSON on the browsable API page):",
                f'    curl -u {username}:{password} -H "Content-Type: application/json" '
                f'-d "{{\\"to\\": \\"{data.THANDI}\\", \\"body\\": \\"Hello!\\"}}" {send}',
                "  Watch its status move QUEUED -> SENT -> DELIVERED: "
                f"{web}{reverse('admin:zoomconnect_message_changelist')}",
                f"  Magic numbers: {data.FAILS} fails, {data.OPTS_OUT} opts out, {data.REPLIES} replies.",
                "  Simulate a reply (STOP opts the number out):",
                f'    curl -H "Content-Type: application/json" -d "{{\\"from\\": \\"{data.THANDI}\\", '
                f'\\"message\\": \\"STOP\\"}}" {server.control_url}inbound',
            ]
        self.stdout.write("\n".join(lines) + "\n")

    def _say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _stopped(self, name: str, stop: Any) -> None:
        try:
            stop()
        except Exception as exc:  # keep stopping the others
            self.stderr.write(f"Stopping the {name} failed: {exc}")

    @staticmethod
    def _quiet_logs() -> None:
        # Celery warns that DEBUG leaks memory in long-running workers; the demo is not one.
        warnings.filterwarnings("ignore", message=r"Using settings\.DEBUG leads to a memory leak")
