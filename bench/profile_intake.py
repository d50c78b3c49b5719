"""Profile the hot path: POST /api/v1/invoices (intake JSON → documents, validation, archive) with pyinstrument.

A fresh SQLite gateway in a temporary folder; the first requests warm up (stylesheet compilation, fonts), then
`--requests` posts of the French example (a new number each) are profiled in-process through the Flask test
client, and the call tree is printed (frames under 1 % hidden).

Usage (from the checkout root): python -m bench.profile_intake [--requests 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from pyinstrument import Profiler

from gateway.app import create_app
from gateway.config import Config
from gateway.store.session import upgrade
from gateway.store.tenants import create_api_key, create_tenant
from tests.jobs import helpers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Config(data_dir=Path(folder), config_dir=Path(folder) / "no-config")
        upgrade(config)
        app = create_app(config)
        with app.extensions["gateway.database"].session() as session:
            headers = {"Authorization": f"Bearer {create_api_key(session, create_tenant(session, 'profile'))}"}
        client, prefix = app.test_client(), uuid.uuid4().hex[:6]

        def post(i: int) -> None:
            assert client.post("/api/v1/invoices", json=helpers.invoice_json(f"P{prefix}-{i}"), headers=headers).status_code == 201

        for i in range(3):
            post(i)
        profiler = Profiler(interval=0.001)
        started = time.perf_counter()
        with profiler:
            for i in range(3, 3 + args.requests):
                post(i)
        elapsed = time.perf_counter() - started
        print(profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total"))
        print(f"{args.requests} requests, {elapsed / args.requests * 1000:.0f} ms each (profiled)")
        app.extensions["gateway.database"].dispose()


if __name__ == "__main__":
    main()
