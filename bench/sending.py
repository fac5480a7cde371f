"""Bulk sending: ``send_bulk`` beside its floor, a naive loop and the SDK loop; the simulator's ceiling.

All of it against one simulator process over loopback, in the same run:

* **end to end**: ``send_bulk(recipients=..., body=...)`` with ``SEND_EAGERLY`` (chunks are
  dispatched in the calling process): validation, rows, claims, ``sms/send-bulk`` calls,
  remote ids and history stored;
* **the floor**: the same numbers parsed with ``phonenumbers``, one executemany INSERT of minimal
  rows, the chunks posted raw (one ``requests.Session``), one executemany UPDATE of the outcomes;
* **naive loop**: ``send_sms`` per number (one ``sms/send`` each), on a sample, per message;
* **SDK loop**: the PyPI ``zoomconnect-sdk`` client's ``send_sms`` per number, on a sample (its
  calls only: it stores nothing, which flatters it);
* **the simulator's ceiling**: pre-built bulk bodies posted raw, nothing else.

End to end and the floor alternate (``send_rounds``), the best of each counts.
"""

from __future__ import annotations

import json
from typing import Any

from . import plumbing
from .plumbing import TEXT, numbers
from .table import Row, ratio_row

FLOOR_AIM, NAIVE_AIM, SDK_AIM, CEILING_AIM = 0.5, 20.0, 5.0, 2_000.0


def floor(recipients: list[str], url: str, chunk: int, tag: str) -> int:
    """The least a bulk send must do (see the module's documentation); messages accepted."""
    import phonenumbers
    import requests
    from django.db import connection, transaction

    e164 = phonenumbers.PhoneNumberFormat.E164
    parsed = []
    for raw in recipients:
        number = phonenumbers.parse(raw, None)
        if phonenumbers.is_valid_number(number):
            parsed.append(phonenumbers.format_number(number, e164))
    references = [f"{tag}-{i}" for i in range(len(parsed))]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_floor_message (reference, to_number, body, status) VALUES (%s, %s, %s, %s)",
            [
                (reference, number, TEXT, "QUEUED")
                for reference, number in zip(references, parsed, strict=True)
            ],
        )
    outcomes = []
    with requests.Session() as session:
        for start in range(0, len(parsed), chunk):
            body = {
                "sendSmsRequests": [
                    {"recipientNumber": number, "message": TEXT, "campaign": "bench", "dataField": reference}
                    for number, reference in zip(
                        parsed[start : start + chunk], references[start : start + chunk], strict=True
                    )
                ]
            }
            response = session.post(
                url + "api/rest/v1/sms/send-bulk",
                data=json.dumps(body),
                headers=plumbing.simulator_headers(),
                timeout=60,
            )
            response.raise_for_status()
            answers = response.json()["sendSmsResponses"]
            outcomes.extend(
                (answer["messageId"], "SENT", reference)
                for answer, reference in zip(answers, references[start : start + chunk], strict=True)
            )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE bench_floor_message SET remote_id = %s, status = %s WHERE reference = %s", outcomes
        )
    return len(outcomes)


def ceiling(recipients: list[str], url: str, chunk: int) -> float:
    """Messages per second the simulator accepts through ``sms/send-bulk``, best of three rounds."""
    import requests

    bodies = plumbing.bulk_bodies(recipients, chunk, "ceiling")
    rates = []
    with requests.Session() as session:
        for _ in range(3):
            seconds, _ = plumbing.timed(
                lambda: [
                    session.post(
                        url + "api/rest/v1/sms/send-bulk",
                        data=body,
                        headers=plumbing.simulator_headers(),
                        timeout=60,
                    ).raise_for_status()
                    for body in bodies
                ]
            )
            rates.append(len(recipients) / seconds)
    return max(rates)


def sdk_loop(recipients: list[str], url: str) -> None:
    from zoomconnect_sdk.client import Client

    client = Client(base_url=url, api_token=plumbing.SIMULATOR_TOKEN, account_email=plumbing.SIMULATOR_EMAIL)
    try:
        for i, number in enumerate(recipients):
            answer = client.send_sms(number, TEXT, campaign="bench", dataField=f"sdk-{i}")
            if answer.get("error"):
                raise RuntimeError(f"the SDK's send failed: {answer}")
    finally:
        client.session.close()


def naive_loop(recipients: list[str]) -> None:
    from django_zoomconnect.models import MessageStatus
    from django_zoomconnect.services.outbox import send_sms

    for number in recipients:
        message = send_sms(number, TEXT, campaign="bench")
        if message.status != MessageStatus.SENT:
            raise RuntimeError(f"a naive send ended {message.status}: {message.last_error}")


def bulk(recipients: list[str]) -> Any:
    from django_zoomconnect.models import Message, MessageStatus
    from django_zoomconnect.services.outbox import send_bulk

    batch = send_bulk(recipients=recipients, body=TEXT, campaign="bench")
    sent = Message.objects.filter(batch=batch, status=MessageStatus.SENT).count()
    if sent != len(recipients):
        raise RuntimeError(f"only {sent} of {len(recipients)} bulk messages were sent")
    return batch


def run(db: str) -> list[Row]:
    from django.conf import settings
    from django.test.utils import override_settings

    from django_zoomconnect import conf

    count, rounds = plumbing.size("send_messages"), plumbing.size("send_rounds")
    naive_count, sdk_count = plumbing.size("send_naive"), plumbing.size("send_sdk")
    with (
        plumbing.simulator_process() as url,
        override_settings(ZOOMCONNECT={**settings.ZOOMCONNECT, "BASE_URL": url}),
    ):
        chunk = int(conf.get("BULK_CHUNK_SIZE"))
        bulk(numbers(10, 9_000_000))  # warm up: imports, the first connection, the database's caches
        floor(numbers(10, 9_100_000), url, chunk, "warm")
        bulk_rates, floor_rates = [], []
        for r in range(rounds):
            seconds, _ = plumbing.timed(lambda r=r: bulk(numbers(count, 1_000_000 + r * count)))
            bulk_rates.append(count / seconds)
            seconds, sent = plumbing.timed(
                lambda r=r: floor(numbers(count, 3_000_000 + r * count), url, chunk, f"f{r}")
            )
            if sent != count:
                raise RuntimeError(f"the floor sent {sent} of {count}")
            floor_rates.append(count / seconds)
        naive_seconds, _ = plumbing.timed(lambda: naive_loop(numbers(naive_count, 5_000_000)))
        sdk_seconds, _ = plumbing.timed(lambda: sdk_loop(numbers(sdk_count, 6_000_000), url))
        top = ceiling(numbers(count, 7_000_000), url, chunk)
    rate, floor_rate = max(bulk_rates), max(floor_rates)
    naive_rate, sdk_rate = naive_count / naive_seconds, sdk_count / sdk_seconds
    name = f"send_bulk of {count:,}"
    return [
        ratio_row(
            name,
            db,
            rate,
            "msgs/s",
            [("floor", floor_rate)],
            at_least=FLOOR_AIM,
            aim=f">= {FLOOR_AIM} of the floor",
        ),
        ratio_row(
            name,
            db,
            rate,
            "msgs/s",
            [("naive send_sms loop", naive_rate)],
            at_least=NAIVE_AIM,
            aim=f">= {NAIVE_AIM:.0f}x the naive loop",
            note=f"naive loop measured on {naive_count} messages",
        ),
        ratio_row(
            name,
            db,
            rate,
            "msgs/s",
            [("zoomconnect-sdk loop", sdk_rate)],
            at_least=SDK_AIM,
            aim=f">= {SDK_AIM:.0f}x the SDK loop",
            note=f"SDK loop measured on {sdk_count} messages",
        ),
        Row(
            "simulator ceiling (raw posts)",
            db,
            top,
            "msgs/s",
            [("send_bulk", rate), ("floor", floor_rate)],
            top / floor_rate,
            f">= {CEILING_AIM:,.0f} msgs/s",
            met=top >= CEILING_AIM,
        ),
    ]
