"""Shared test fixtures: the example invoices and the public conformance corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
CORPUS = Path(os.environ.get("GATEWAY_CORPUS", ROOT.parent / "shared" / "corpus"))


def load_example(name: str) -> dict:
    """An intake JSON example from docs/examples (name without .json)."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The ../shared/corpus folder; tests using it skip cleanly when it is absent."""
    if not (CORPUS / "expected.json").is_file():
        pytest.skip(f"conformance corpus not found at {CORPUS}")
    return CORPUS
