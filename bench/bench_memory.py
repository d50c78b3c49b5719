"""Peak memory (RSS) of the processes handling a 5,000-line invoice: the intake, then the delivery worker.

Each phase runs in a fresh subprocess, which reports its own peak RSS (`resource.getrusage`): after warming up on
a 20-line invoice (imports, compiled stylesheets, fonts), and after the large invoice.  Seconds are given as elapsed
time and as the process's CPU time (all its threads, Saxon's included): on a shared machine the elapsed time grows with
the load, the CPU time much less.
- intake: `intake.submit_json` (canonical model, CII + UBL + Factur-X, the four official validations, archive) into SQLite;
- worker: `Deliverer.run_once` e-mails that invoice's Factur-X to the loopback SMTP server (STARTTLS + AUTH).

Usage (from the checkout root): python -m bench.bench_memory [--lines 5000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import MappingProxyType

from bench.bench_pipeline import intake_with_lines
from gateway.config import Config


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def intake_phase(config: Config, lines: int) -> dict[str, float]:
    from gateway import intake
    from gateway.archive.service import Archive
    from gateway.store.session import Database, upgrade
    from tests.jobs import helpers
    from tests.reliability.helpers import EMAIL_BUYER

    upgrade(config)
    database, archive = Database(config), Archive.for_config(config)
    tenant = helpers.new_tenant(database, "memory")

    def submit(data: dict) -> None:
        with database.session() as session:
            row = intake.submit_json(session, archive, session.merge(tenant), data)
            assert row.report["valid"], row.report["findings"][:3]

    small = {**intake_with_lines(20), "number": "MEM-WARM", "buyer": helpers.invoice_json("x", EMAIL_BUYER)["buyer"]}
    submit(small)
    warm, started, cpu = peak_mib(), time.perf_counter(), time.process_time()
    submit({**intake_with_lines(lines), "number": "MEM-LARGE", "buyer": small["buyer"]})
    return {"warm_mib": warm, "peak_mib": peak_mib(), "seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def worker_phase(config: Config) -> dict[str, float]:
    from gateway.archive.service import Archive
    from gateway.jobs.deliver import Deliverer
    from gateway.store.session import Database

    deliverer = Deliverer(Database(config), Archive.for_config(config), config)
    deliverer.run_once("memory")  # the 20-line one, created first
    warm, started, cpu = peak_mib(), time.perf_counter(), time.process_time()
    assert deliverer.run_once("memory")
    return {"warm_mib": warm, "peak_mib": peak_mib(), "seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--phase", help=argparse.SUPPRESS)  # JSON: the subprocess's phase and configuration
    args = parser.parse_args()
    if args.phase:
        phase = json.loads(args.phase)
        data_dir = Path(phase["data_dir"])
        config = Config(data_dir=data_dir, config_dir=data_dir / "no-config", sections=MappingProxyType(phase["sections"]))
        result = intake_phase(config, args.lines) if phase["name"] == "intake" else worker_phase(config)
        print(json.dumps(result))
        return

    from tests.jobs import helpers

    with tempfile.TemporaryDirectory() as folder, helpers.networks(Path(folder)) as net:
        sections = {"routing": {"peppol_participants": "ignore"}, "delivery": {"connectors": net.connectors(), "documents": {"email": "facturx"}}}
        header = f"{'phase':<8} {'peak RSS after warm-up':>23} {'peak RSS with the large invoice':>32} {'seconds':>8} {'CPU s':>6}"
        print(f"{header}   ({args.lines} lines)")
        for name in ("intake", "worker"):
            phase = json.dumps({"name": name, "data_dir": str(Path(folder) / "data"), "sections": sections})
            command = [sys.executable, "-m", "bench.bench_memory", "--lines", str(args.lines), "--phase", phase]
            out = subprocess.run(command, capture_output=True, text=True)
            if out.returncode:
                raise SystemExit(out.stderr[-3000:])
            result = json.loads(out.stdout.splitlines()[-1])
            memory = f"{result['warm_mib']:>19.0f} MiB {result['peak_mib']:>28.0f} MiB"
            print(f"{name:<8} {memory} {result['seconds']:>8.1f} {result['cpu']:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
