"""End-to-end throughput: intake JSON in → validated, signed, archived, delivered to the loopback e-mail server.

For each database and worker thread count, a fresh gateway: `gateway serve` (4 waitress threads, no in-process
worker) and one `gateway worker --threads N` process, both real subprocesses, with a test signing key (XAdES on
the UBL, PAdES on the Factur-X: `certs/make-test-ca.sh`).  Client threads post `--invoices` invoices (the French
example, a different number each, to a buyer reached by e-mail: the signed Factur-X is sent by SMTP + STARTTLS +
AUTH); the clock stops when the last delivery is recorded (sent, status 201, receipt archived).

Figures: invoices/s end to end, and the intake alone (until the last 201).  The loopback SMTP server runs in this
process; everything shares the machine's cores.

Usage (from the checkout root): python -m bench.bench_end_to_end [--invoices 60] [--workers 1 2 4] [--clients 2] [--postgres URL | --postgres ""]
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.bench_delivery import POSTGRES_URL, fresh_database
from gateway.config import Config
from gateway.store.session import Database, upgrade
from gateway.store.tenants import create_api_key, create_tenant
from tests.connectors.smtp_server import free_port
from tests.jobs import helpers
from tests.reliability.helpers import EMAIL_BUYER, ROOT, environment, start_api, start_worker, wait_delivered, write_config


def signing_tables(directory: Path) -> dict[str, dict[str, object]]:
    """A test CA and signing key (RSA 2048), as the [signing] table."""
    subprocess.run(["bash", str(ROOT / "certs" / "make-test-ca.sh"), str(directory)], check=True, capture_output=True)
    return {
        "signing": {
            "store": "pem",
            "key_file": str(directory / "signing.key"),
            "cert_file": str(directory / "chain.pem"),
            "trust_roots": [str(directory / "ca.pem")],
        }
    }


def measure(url: str, root: Path, net: helpers.Networks, signing: dict, invoices: int, threads: int, clients: int) -> tuple[float, float]:
    """(end-to-end invoices/s, intake invoices/s) for one fresh gateway."""
    config = Config(data_dir=root / "data", database_url=url, config_dir=root / "no-config")
    upgrade(config)
    database = Database(config)
    with database.session() as session:
        key = create_api_key(session, create_tenant(session, f"bench-{uuid.uuid4().hex[:8]}"))
    tables = {**signing, "delivery.documents": {"email": "facturx", "chorus_pro": "facturx"}}
    env = environment(config, write_config(root / "config", net, tables=tables, idle_seconds=0.02, lease_seconds=120))
    port = free_port()
    api = start_api(env, root / "api.log", port)
    worker = start_worker(env, root / "worker.log", threads)
    prefix = uuid.uuid4().hex[:6].upper()
    endpoint, headers = f"http://127.0.0.1:{port}/api/v1/invoices", {"Authorization": f"Bearer {key}"}
    requests.post(endpoint, json=helpers.invoice_json(f"W{prefix}", EMAIL_BUYER), headers=headers, timeout=120)  # compiles the stylesheets
    assert wait_delivered(database, 120) == 0

    def post(i: int) -> None:
        answer = requests.post(endpoint, json=helpers.invoice_json(f"E{prefix}-{i}", EMAIL_BUYER), headers=headers, timeout=120)
        assert answer.status_code == 201 and answer.json()["status"] == "200", answer.text[:300]

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, range(invoices)))
        accepted = time.perf_counter()
        assert wait_delivered(database, 600) == 0
        delivered = time.perf_counter()
    finally:
        for proc in (api, worker):
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        database.dispose()
    return invoices / (delivered - started), invoices / (accepted - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=60, help="invoices per measurement (default 60)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="delivery threads of the worker process (default 1 2 4)")
    parser.add_argument("--clients", type=int, default=2, help="client threads posting (default 2)")
    parser.add_argument("--postgres", default=POSTGRES_URL, help='PostgreSQL URL for the PostgreSQL rows ("": SQLite only)')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    kinds = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    print(f"{'database':<11} {'workers':>7} {'invoices':>8} {'end-to-end/s':>13} {'intake/s':>9}")
    with tempfile.TemporaryDirectory() as folder, helpers.networks(Path(folder)) as net:
        signing = signing_tables(Path(folder) / "pki")
        for kind in kinds:
            for threads in args.workers:
                with fresh_database(kind, args.postgres) as url:
                    end_to_end, intake = measure(url, Path(tempfile.mkdtemp(dir=folder)), net, signing, args.invoices, threads, args.clients)
                print(f"{kind:<11} {threads:>7} {args.invoices:>8} {end_to_end:>13.2f} {intake:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
