"""Real invoice documents (UBL, CII, Factur-X) and envelopes for the connector tests and benchmarks.

Built once per process from docs/examples/invoice-fr-b2b.json with the gateway's own writers, so the loopback
servers receive what production would send.
"""

from __future__ import annotations

from functools import cache

from connectors.base import DocumentKind, Envelope, Recipient
from gateway.formats.cii import write_cii
from gateway.formats.facturx import build_facturx
from gateway.formats.ubl import write_ubl
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from tests.conftest import load_example

EXAMPLE_NUMBER = "F2026-000142"
BUYER_SIRET = "35600000000048"
SERVICE_CODE = "SERV-ACHATS-42"
LEGAL_COMMITMENT = "PO-77813"
IBAN = "FR7630006000011234567890189"
CONTENT_TYPES = {"facturx": "application/pdf", "ubl": "application/xml", "cii": "application/xml"}
FILENAMES = {"facturx": "F2026-000142.pdf", "ubl": "F2026-000142-ubl.xml", "cii": "F2026-000142-cii.xml"}


@cache
def document(kind: DocumentKind) -> bytes:
    """The example invoice as `kind` (invoice number EXAMPLE_NUMBER)."""
    invoice = invoice_from_json(load_example("invoice-fr-b2b"))
    complete(invoice)
    if kind == "ubl":
        return write_ubl(invoice)
    cii = write_cii(invoice)
    return cii if kind == "cii" else build_facturx(invoice, cii)


def numbered(kind: DocumentKind, number: str) -> bytes:
    """The example XML with another invoice number (XML kinds only: the number is plain text there)."""
    assert kind != "facturx", "a Factur-X PDF cannot be renumbered by byte replacement"
    return document(kind).replace(EXAMPLE_NUMBER.encode(), number.encode())


def envelope(
    kind: DocumentKind = "ubl",
    *,
    number: str = EXAMPLE_NUMBER,
    email: str = "claire.martin@boulangeries-martin.example",
    **changes: object,
) -> Envelope:
    """An envelope for the example invoice to its (public) buyer; `changes` override Envelope or Recipient fields."""
    recipient_fields = {"name", "siret", "service_code", "legal_commitment", "email", "peppol_id"}
    recipient = Recipient(
        name="Boulangeries Martin SARL",
        siret=BUYER_SIRET,
        service_code=SERVICE_CODE,
        legal_commitment=LEGAL_COMMITMENT,
        email=email,
        peppol_id="0225:356000000",
    )
    recipient = Recipient(**(recipient.__dict__ | {k: v for k, v in changes.items() if k in recipient_fields}))
    body = document(kind) if number == EXAMPLE_NUMBER else numbered(kind, number)
    fields = {
        "invoice_id": f"inv-{number}",
        "tenant": "atelier-dupont",
        "document": body,
        "kind": kind,
        "content_type": CONTENT_TYPES[kind],
        "filename": FILENAMES[kind].replace(EXAMPLE_NUMBER, number),
        "recipient": recipient,
        "idempotency_key": f"delivery-{number}-{kind}",
        "invoice_number": number,
        "seller_name": "Atelier Dupont & Fils SAS",
        "payment_means_code": "58",
        "payee_iban": IBAN,
    }
    return Envelope(**(fields | {k: v for k, v in changes.items() if k not in recipient_fields}))  # type: ignore[arg-type]
