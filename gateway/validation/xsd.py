"""XML Schema validation of a received document against the official XSD of its syntax and profile.

UBL → the OASIS UBL 2.1 Invoice / CreditNote schema; CII declaring a Factur-X
profile → that profile's Factur-X XSD; any other CII (XRechnung, EN 16931 CIUS,
EXTENDED-CTC-FR …) → the full UN/CEFACT CII D22B schema.  Each schema is
compiled once per process, lazily.  A schema that cannot be loaded raises
`ArtefactError` (the caller answers 503): a check that cannot run never passes.
"""

from __future__ import annotations

import os
import threading

from lxml import etree

from gateway.formats.documents import Document
from gateway.validation.artefacts import XSD
from gateway.validation.report import Finding
from gateway.validation.schematron import ArtefactError

# One lock for compiling and validating: an lxml XMLSchema keeps its error log on the object, so a
# validation and the reading of its errors must not interleave with another thread's.
_lock = threading.Lock()
_schemas: dict[str, etree.XMLSchema] = {}


def _after_fork_in_child() -> None:
    """A fork taken while another thread validated must not leave the child's lock held forever."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def schema_key(document: Document) -> str:
    """The key in `artefacts.XSD` of the schema this document is checked against."""
    if document.syntax != "cii":
        return document.syntax
    return f"cii-{document.profile.name}" if document.profile else "cii-d22b"


def _schema(key: str) -> etree.XMLSchema:
    if key not in _schemas:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        try:
            _schemas[key] = etree.XMLSchema(etree.parse(str(XSD[key]), parser))
        except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise ArtefactError(f"XSD {key}: cannot load {XSD[key].name}: {exc}") from exc
    return _schemas[key]


def check_xsd(document: Document) -> list[Finding]:
    """The schema errors of the document, each a fatal finding with rule id "XSD"."""
    key = schema_key(document)
    with _lock:
        schema = _schema(key)
        schema.validate(document.tree)
        errors = list(schema.error_log)
    return [
        Finding(rule_id="XSD", severity="fatal", message=f"line {error.line}: {error.message}", artefact=f"XSD-{key}", location=error.path or None)
        for error in errors
    ]
