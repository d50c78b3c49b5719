"""Banks' and libraries' public sample statements, where the shared corpus holds them: each imports, or is refused as such.

The project may not commit other people's sample files; `../shared/corpus/bank-statements/` (or $GATEWAY_CORPUS)
is where the maintainers put them, with their licences.  Every file there is read as an import would read it:
it must give its lines, unless its name says it is broken on purpose (`wrong`, `invalid`, `broken`, `mt942`), in
which case it must be refused with the gateway's error naming where — never a crash, never half-read.  Without the
folder the test skips, saying so.  The check run by hand on 2026-12-07 is in docs/payments.md.
"""

from __future__ import annotations

import pytest

from gateway.payments.parsed import MalformedStatement, UnsupportedStatement
from gateway.payments.service import parse
from tests.conftest import CORPUS

SAMPLES = CORPUS / "bank-statements"
BROKEN_ON_PURPOSE = ("wrong", "invalid", "broken", "mt942")
SUFFIXES = {".xml", ".053", ".054", ".sta", ".940", ".mt940", ".txt"}


def _samples() -> list:
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES) if SAMPLES.is_dir() else []


@pytest.mark.skipif(not _samples(), reason=f"no public sample statements at {SAMPLES}")
@pytest.mark.parametrize("sample", _samples(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_a_public_sample_statement_imports(sample):
    if any(word in sample.name.lower() for word in BROKEN_ON_PURPOSE):
        with pytest.raises((MalformedStatement, UnsupportedStatement)) as refused:
            parse(sample.read_bytes())
        assert refused.value.message
        return
    statements = parse(sample.read_bytes())
    assert statements and all(statement.account and statement.ref for statement in statements)
