"""Validation from several threads at once and in forked workers gives the same reports (DESIGN pitfall 2).

saxonche 13.0 aborted processes when first used in one thread or process and then in another
(factur-x#77, fr-einvoicing#9).  These tests run the real stylesheets the way a threaded server
and a pre-forking server (gunicorn --preload) would, after the parent has already used Saxon.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ThreadPoolExecutor

from gateway.formats.documents import read_document
from gateway.validation import schematron, xsd
from gateway.validation.pipeline import validate
from tests.validation.conftest import fixture

BROKEN_CII = (b"<ram:GrandTotalAmount>715.54<", b"<ram:GrandTotalAmount>815.54<")
BROKEN_UBL = (b'<cbc:TaxInclusiveAmount currencyID="EUR">715.54<', b'<cbc:TaxInclusiveAmount currencyID="EUR">815.54<')


def _documents() -> list[bytes]:
    cii, ubl = fixture("fr-invoice-cii.xml"), fixture("fr-invoice-ubl.xml")
    return [cii, ubl, cii.replace(*BROKEN_CII), ubl.replace(*BROKEN_UBL)]


def _outcome(data: bytes) -> tuple:
    """A picklable summary of one validation: artefacts run and every finding."""
    report = validate(read_document(data))
    return tuple(report.artefacts), tuple((f.artefact, f.rule_id, f.severity, f.location) for f in report.findings)


def _in_threads(documents: list[bytes], rounds: int = 3) -> list[tuple]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(_outcome, documents * rounds))


def _child(documents: list[bytes]) -> tuple[int, list[tuple], list[tuple]]:
    return os.getpid(), [_outcome(d) for d in documents], _in_threads(documents, rounds=1)


def test_threads_and_forked_workers_agree_with_the_parent():
    documents = _documents()
    expected = [_outcome(d) for d in documents]  # the parent uses Saxon first
    assert expected[0][1] == () and expected[1][1] == ()
    assert any(rule == "BR-CO-15" for _, rule, _, _ in expected[2][1])
    assert any(rule == "BR-CO-15" for _, rule, _, _ in expected[3][1])

    assert _in_threads(documents) == expected * 3

    with multiprocessing.get_context("fork").Pool(2) as pool:
        children = pool.map(_child, [documents, documents])
    for pid, sequential, threaded in children:
        assert pid != os.getpid()
        assert sequential == expected
        assert threaded == expected

    assert [_outcome(d) for d in documents] == expected  # and the parent still works after forking


def test_a_fork_taken_while_another_thread_validates_does_not_deadlock_the_child():
    """The locks are held at fork time (as by a thread in mid-validation); the child gets fresh ones."""
    documents = _documents()[:2]
    expected = [_outcome(d) for d in documents]
    context = multiprocessing.get_context("fork")
    with schematron._lock, xsd._lock, context.Pool(1) as pool:
        pid, sequential, _ = pool.apply_async(_child, [documents]).get(timeout=120)
    assert pid != os.getpid()
    assert sequential == expected
