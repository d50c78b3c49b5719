"""Cost of refusing hostile input through the API: prints, per attack, the answer, the seconds and the peak Python
allocations (tracemalloc) of one request; asserts nothing.  The payloads are the test suite's (tests/security).

Usage: python bench/bench_hostile.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.app import create_app
from gateway.config import Config
from gateway.store.session import upgrade
from tests.api.conftest import Api, new_tenant_key
from tests.security.test_hostile_http import DEEP_NESTING, PDF_CASES, _facturx, _with_javascript
from tests.validation.test_hostile import HOSTILE_XML


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    config = Config(data_dir=folder, config_dir=folder / "none")
    upgrade(config)
    app = create_app(config)
    api = Api(app, new_tenant_key(app))
    attacks: list[tuple[str, bytes, str]] = [(f"XML: {name}", data, "application/xml") for name, (data, _error) in HOSTILE_XML.items()]
    attacks.append(("XML: deep nesting (10,000 levels)", DEEP_NESTING, "application/xml"))
    attacks += [(f"PDF: {name}", build(), "application/pdf") for name, (build, _status) in PDF_CASES.items()]
    attacks.append(
        ("PDF: Factur-X with JavaScript (open action)", _with_javascript(_facturx(), "open action", object_streams=True), "application/pdf")
    )
    attacks += [
        ("JSON: 100,000 nested arrays", b"[" * 100_000, "application/json"),
        ("JSON: 100,000 nested objects", b'{"a":' * 100_000, "application/json"),
    ]
    print(f"{'attack':58} {'status':>6} {'seconds':>8} {'peak MB':>8}")
    for name, data, content_type in attacks:
        tracemalloc.start()
        started = time.perf_counter()
        response = api.post("/api/v1/validate", data=data, content_type=content_type)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"{name[:58]:58} {response.status_code:>6} {seconds:>8.3f} {peak:>8.1f}")


if __name__ == "__main__":
    main()
