"""API latency under a steady load sent by a second process: p50 / p95 / p99 per request kind.

A fresh gateway (`gateway serve`, SQLite or PostgreSQL, no delivery) with `--seed` stored invoices; then a
separate Python process (this script with --client) sends an open-loop load at fixed rates for `--seconds`:
POST /api/v1/invoices (full intake) at `--post-rate` per second and GET /api/v1/invoices/{id} at `--get-rate`
per second, each request started on schedule in its own thread (a slow answer does not delay the next send,
so queueing shows in the figures).  Latency counts from the scheduled start to the end of the answer.

Usage (from the checkout root): python -m bench.bench_latency [--seconds 30] [--post-rate 2] [--get-rate 20] [--postgres URL | --postgres ""]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

from bench.bench_delivery import POSTGRES_URL, fresh_database
from gateway.config import Config
from gateway.store.session import Database, upgrade
from gateway.store.tenants import create_api_key, create_tenant
from tests.connectors.smtp_server import free_port
from tests.jobs import helpers
from tests.reliability.helpers import environment, start_api, write_config


def client(base: str, key: str, ids: list[str], seconds: float, post_rate: float, get_rate: float) -> dict[str, list[float]]:
    """The load generator (runs in the second process): latencies in ms by kind, and the errors."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {key}"}
    results: dict[str, list[float]] = {"post": [], "get": [], "errors": []}
    lock = threading.Lock()
    prefix = uuid.uuid4().hex[:6]

    def call(kind: str, due: float, i: int) -> None:
        if kind == "post":
            answer = requests.post(f"{base}/api/v1/invoices", json=helpers.invoice_json(f"L{prefix}-{i}"), headers=headers, timeout=120)
            ok = answer.status_code == 201
        else:
            answer = session.get(f"{base}/api/v1/invoices/{ids[i % len(ids)]}", headers=headers, timeout=120)
            ok = answer.status_code == 200
        with lock:
            results[kind if ok else "errors"].append((time.perf_counter() - due) * 1000)

    posts = [(n / post_rate, "post", n) for n in range(int(seconds * post_rate))]
    schedule = sorted(posts + [(n / get_rate, "get", n) for n in range(int(seconds * get_rate))])
    start = time.perf_counter() + 0.5
    threads = []
    for offset, kind, i in schedule:
        due = start + offset
        time.sleep(max(0.0, due - time.perf_counter()))
        thread = threading.Thread(target=call, args=(kind, due, i))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return results


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "-"
    cuts = statistics.quantiles(values, n=100)
    return f"{cuts[49]:8.0f} {cuts[94]:8.0f} {cuts[98]:8.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--post-rate", type=float, default=2.0, help="POST /invoices per second (default 2)")
    parser.add_argument("--get-rate", type=float, default=20.0, help="GET /invoices/{id} per second (default 20)")
    parser.add_argument("--seed", type=int, default=20, help="invoices stored before the load (default 20)")
    parser.add_argument("--postgres", default=POSTGRES_URL, help='PostgreSQL URL for the PostgreSQL row ("": SQLite only)')
    parser.add_argument("--client", help=argparse.SUPPRESS)  # JSON arguments of the load-generating process
    args = parser.parse_args()
    if args.client:
        print(json.dumps(client(**json.loads(args.client))))
        return
    print(f"{args.post_rate:g} POST/s + {args.get_rate:g} GET/s for {args.seconds:g} s from a second process; latency in ms")
    print(f"{'database':<11} {'request':<28} {'count':>5} {'p50':>8} {'p95':>8} {'p99':>8}")
    with tempfile.TemporaryDirectory() as folder, helpers.networks(Path(folder)) as net:
        for kind in ["sqlite", "postgresql"] if args.postgres else ["sqlite"]:
            with fresh_database(kind, args.postgres) as url:
                root = Path(tempfile.mkdtemp(dir=folder))
                config = Config(data_dir=root / "data", database_url=url, config_dir=root / "no-config")
                upgrade(config)
                database = Database(config)
                with database.session() as session:
                    key = create_api_key(session, create_tenant(session, f"latency-{uuid.uuid4().hex[:8]}"))
                database.dispose()
                port = free_port()
                api = start_api(environment(config, write_config(root / "config", net)), root / "api.log", port)
                try:
                    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
                    seeded = [helpers.invoice_json(f"S{uuid.uuid4().hex[:8]}") for _ in range(args.seed)]
                    ids = [requests.post(f"{base}/api/v1/invoices", json=data, headers=headers, timeout=120).json()["id"] for data in seeded]
                    load = {"base": base, "key": key, "ids": ids, "seconds": args.seconds, "post_rate": args.post_rate, "get_rate": args.get_rate}
                    command = [sys.executable, "-m", "bench.bench_latency", "--client", json.dumps(load)]
                    results = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
                finally:
                    api.send_signal(signal.SIGTERM)
                    api.wait(60)
                for name, label in (("post", "POST /invoices (full intake)"), ("get", "GET /invoices/{id}")):
                    print(f"{kind:<11} {label:<28} {len(results[name]):>5} {percentiles(results[name])}", flush=True)
                if results["errors"]:
                    print(f"{kind:<11} {'errors':<28} {len(results['errors']):>5}")


if __name__ == "__main__":
    main()
