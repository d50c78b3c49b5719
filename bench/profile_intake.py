"""Profile the hot path: POST /api/v1/invoices (intake JSON → documents, validation, archive) with pyinstrument.

A fresh SQLite gateway in a temporary folder; the first requests warm up (stylesheet compilation, fonts), then
`--requests` posts of the French example (a new number each; with `--lines N`, its lines repeated to N lines) are
profiled in-process through the Flask test client, and the call tree is printed (frames under 1 % hidden).
`--lines` shows where a large invoice's time goes, stage by stage (validation, rendering, decoding ...).

Usage (from the checkout root): python -m bench.profile_intake [--requests 20] [--lines 5000 --requests 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from pyinstrument import Profiler

from bench.bench_pipeline import intake_with_lines
from gateway.app import create_app
from gateway.config import Config
from gateway.store.session import upgrade
from gateway.store.tenants import create_api_key, create_tenant
from tests.jobs import helpers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--lines", type=int, help="profile invoices of this many lines (default: the example's 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Config(data_dir=Path(folder), config_dir=Path(folder) / "no-config")
        upgrade(config)
        app = create_app(config)
        with app.extensions["gateway.database"].session() as session:
            headers = {"Authorization": f"Bearer {create_api_key(session, create_tenant(session, 'profile'))}"}
        client, prefix = app.test_client(), uuid.uuid4().hex[:6]

        def post(i: int, lines: int | None) -> None:
            fields = {"lines": intake_with_lines(lines)["lines"]} if lines else {}
            response = client.post("/api/v1/invoices", json=helpers.invoice_json(f"P{prefix}-{i}", **fields), headers=headers)
            assert response.status_code == 201 and response.get_json()["validation"]["valid"], response.get_json()

        for i in range(3):
            post(i, None)
        profiler = Profiler(interval=0.01 if args.lines else 0.001)
        started, cpu = time.perf_counter(), time.process_time()
        with profiler:
            for i in range(3, 3 + args.requests):
                post(i, args.lines)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total"))
        print(f"{args.requests} requests, {elapsed / args.requests * 1000:.0f} ms each, {cpu / args.requests * 1000:.0f} ms of CPU (profiled)")
        app.extensions["gateway.database"].dispose()


if __name__ == "__main__":
    main()
