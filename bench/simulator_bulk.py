"""How many messages per second the simulator accepts through ``sms/send-bulk`` over loopback.

Not a test: run it by hand, ``python bench/simulator_bulk.py [--messages 20000] [--batch 500]``.
It starts the real threaded server on a free loopback port, sends the messages in bulk requests
with one ``requests.Session`` (keep-alive, like the app's sending workers), and prints a small
report. The simulator must never be the bottleneck of our own benchmarks: aim for 2,000
messages/s or more on one core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django_zoomconnect.simulator import Clock, Simulator
from django_zoomconnect.simulator.server import SimulatorServer

TARGET = 2000.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages in total (default 20000)")
    parser.add_argument("--batch", type=int, default=500, help="messages per bulk request (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; the best is reported")
    options = parser.parse_args(argv)

    simulator = Simulator(clock=Clock(frozen=True), balance=10_000_000.0)
    numbers = [f"+2782{n:07d}" for n in range(options.batch)]
    bodies = [
        json.dumps(
            {
                "sendSmsRequests": [
                    {
                        "recipientNumber": numbers[i],
                        "message": f"Bench message {start + i}: your code is {1000 + i}",
                        "dataField": f"bench-{start + i}",
                    }
                    for i in range(min(options.batch, options.messages - start))
                ]
            }
        ).encode()
        for start in range(0, options.messages, options.batch)
    ]

    rates = []
    latencies: list[float] = []
    with SimulatorServer(simulator, background=False) as server, requests.Session() as session:
        url = server.url + "api/rest/v1/sms/send-bulk"
        headers = {
            "email": simulator.email,
            "token": simulator.token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        session.post(url, data=bodies[0], headers=headers, timeout=60).raise_for_status()  # warm up
        for _ in range(options.rounds):
            simulator.reset()
            simulator.set_balance(10_000_000.0)
            accepted = 0
            started = time.perf_counter()
            for body in bodies:
                sent = time.perf_counter()
                response = session.post(url, data=body, headers=headers, timeout=60)
                latencies.append(time.perf_counter() - sent)
                response.raise_for_status()
                accepted += sum(1 for item in response.json()["sendSmsResponses"] if item.get("messageId"))
            elapsed = time.perf_counter() - started
            if accepted != options.messages:
                print(f"only {accepted} of {options.messages} messages were accepted", file=sys.stderr)
                return 1
            rates.append(accepted / elapsed)
        connections = server.connections_accepted

    best = max(rates)
    print("Zoom Connect simulator: sms/send-bulk over loopback")
    print(f"  messages per round : {options.messages} in requests of {options.batch}")
    print(f"  rounds             : {options.rounds} (messages/s: {', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"  best               : {best:,.0f} messages/s")
    print(f"  per request        : median {statistics.median(latencies) * 1000:.1f} ms")
    print(f"  connections opened : {connections} (keep-alive)")
    print(f"  target             : {TARGET:,.0f} messages/s -> {'met' if best >= TARGET else 'NOT met'}")
    return 0 if best >= TARGET else 2


if __name__ == "__main__":
    sys.exit(main())
