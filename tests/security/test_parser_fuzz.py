"""Hypothesis fuzz of every parser of outside input: on anything, each returns or raises only its documented error.

Three kinds of input per parser: a real message with random byte edits, the same message with random
structural edits (an element's text replaced, an element dropped or repeated: what a confused partner sends),
and random bytes.  Bounded: a few hundred examples per parser, no deadline (a loaded CI machine), no database.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from connectors.email.bounce import parse_bounce
from connectors.peppol import mls, sbdh
from connectors.peppol.identifiers import MLS_DOCUMENT, MLS_PROCESS, ParticipantId
from gateway import intake
from gateway.errors import InputError
from gateway.formats.cii import read_cii
from gateway.formats.documents import read_document
from gateway.formats.ubl import read_ubl
from gateway.lifecycle.cdar import build_cdar, read_cdar
from tests.conftest import load_example
from tests.connectors.test_email import _dsn
from tests.lifecycle.helpers import INVOICE, ISSUER_OF, PLATFORM, RECIPIENTS_OF, valid_change
from tests.validation.conftest import fixture

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SENDER, RECEIVER = ParticipantId.parse("0242:000222"), ParticipantId.parse("0242:000111")


def _cdar() -> bytes:
    change = valid_change("210")
    return build_cdar(change, INVOICE, issuer=ISSUER_OF[change.role], sender=PLATFORM, recipients=RECIPIENTS_OF[change.role])


def _mls() -> bytes:
    root = mls.build("c0ffee00-0000-4000-8000-000000000001", "RE", sender=SENDER, receiver=RECEIVER, lines=[("BV", "Wrong VAT")])
    return sbdh.build(root, sender=SENDER, receiver=RECEIVER, document_type=MLS_DOCUMENT, process=MLS_PROCESS, country_c1="BE")[0]


def _read_cii(data: bytes) -> object:
    return read_cii(read_document(data).tree)


def _read_ubl(data: bytes) -> object:
    return read_ubl(read_document(data).tree)


@dataclass(frozen=True)
class Parser:
    parse: Callable[[bytes], object]
    seed: Callable[[], bytes]
    errors: tuple[type[Exception], ...]  # what the parser documents; anything else is a crash


PARSERS = {
    "read_document": Parser(read_document, lambda: fixture("fr-invoice-cii.xml"), (InputError,)),
    "CII reader": Parser(_read_cii, lambda: fixture("fr-invoice-cii.xml"), (InputError,)),
    "UBL reader": Parser(_read_ubl, lambda: fixture("fr-invoice-ubl.xml"), (InputError,)),
    "CDAR reader": Parser(read_cdar, _cdar, (InputError,)),
    "Peppol SBDH": Parser(sbdh.read, _mls, (sbdh.SbdhError,)),
    "Peppol MLS": Parser(mls.read, _mls, (mls.MlsError,)),
    "e-mail bounce": Parser(parse_bounce, lambda: _dsn("<f00@gateway.example>"), ()),
}


def _edited_bytes(seed: bytes) -> st.SearchStrategy[bytes]:
    """`seed` with up to 8 random deletions, insertions or replacements."""
    edit = st.tuples(st.integers(0, len(seed)), st.integers(0, 16), st.binary(max_size=12))

    def apply(edits: list[tuple[int, int, bytes]]) -> bytes:
        data = bytearray(seed)
        for at, cut, insert in edits:
            data[at : at + cut] = insert
        return bytes(data)

    return st.lists(edit, min_size=1, max_size=8).map(apply)


XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff", max_codepoint=0x2FFFF), max_size=40).filter(
    intake.xml_safe
)


def _edited_tree(seed: bytes) -> st.SearchStrategy[bytes]:
    """`seed` (XML) with up to 4 elements given new text, dropped, or repeated."""
    size = len(list(etree.fromstring(seed).iter()))
    edit = st.tuples(st.integers(1, size - 1), st.sampled_from(["text", "drop", "repeat"]), XML_TEXT)

    def apply(edits: list[tuple[int, str, str]]) -> bytes:
        root = etree.fromstring(seed)
        for index, action, text in edits:
            elements = list(root.iter())
            element = elements[index % len(elements)]
            if element is root or element.getparent() is None or not isinstance(element.tag, str):
                continue
            if action == "text":
                element.text = text
            elif action == "drop":
                element.getparent().remove(element)
            else:
                element.addnext(copy.deepcopy(element))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return st.lists(edit, min_size=1, max_size=4).map(apply)


RANDOM = st.binary(max_size=2000) | st.binary(max_size=200).map(lambda b: b"<?xml version='1.0'?>" + b)
INPUTS: dict[str, Callable[[bytes], st.SearchStrategy[bytes]]] = {
    "byte edits": _edited_bytes,
    "structural edits": _edited_tree,
    "random bytes": lambda _seed: RANDOM,
}
CASES = [(name, inputs) for name in PARSERS for inputs in INPUTS if (name, inputs) != ("e-mail bounce", "structural edits")]  # a DSN is no XML


@pytest.mark.parametrize(("name", "inputs"), CASES)
def test_parser_raises_only_its_documented_errors(name, inputs):
    parser = PARSERS[name]

    @FUZZ
    @given(data=INPUTS[inputs](parser.seed()))
    def run(data: bytes) -> None:
        with contextlib.suppress(*parser.errors):  # only the documented errors: any other exception fails the example
            parser.parse(data)

    run()


def test_seeds_parse():
    """The fuzz starts from messages each parser accepts (else it would only test the first refusal)."""
    for name, parser in PARSERS.items():
        assert parser.parse(parser.seed()) is not None, name


# ---------------------------------------------------------------------------- intake JSON

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["1e9999", "-0", "NaN", "9" * 40]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=12,
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [prefix] + [p for key, value in node.items() for p in _paths(value, (*prefix, key))]
    if isinstance(node, list):
        return [prefix] + [p for index, value in enumerate(node) for p in _paths(value, (*prefix, index))]
    return [prefix]


EXAMPLE = load_example("invoice-fr-b2b")
EXAMPLE_PATHS = _paths(EXAMPLE)[1:]


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(EXAMPLE_PATHS), st.booleans(), JSON_VALUES), min_size=1, max_size=4))
def test_intake_json_decode(edits):
    """The example invoice with values replaced (or removed): an invoice, or InvalidInvoice with pointers; never another error."""
    data = copy.deepcopy(EXAMPLE)
    for path, remove, value in edits:
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if remove and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the way there
    data = json.loads(json.dumps(data))
    try:
        intake.decode_json(data)
    except InputError as error:
        assert error.details and all(detail.pointer.startswith("/") or detail.pointer == "" for detail in error.details)
