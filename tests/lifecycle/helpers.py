"""Valid status changes, parties and invoice references shared by the lifecycle tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from gateway.lifecycle import codes
from gateway.lifecycle.cdar import PPF_RECIPIENT, InvoiceRef, Party
from gateway.lifecycle.events import Amount, StatusChange
from gateway.store import models as db
from gateway.store.tenants import tenant_for_key
from tests.conftest import load_example

AT = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)

SELLER = Party(codes.SELLER, "Atelier Dupont & Fils SAS", siren="732829320", address="732829320_STATUTS")
BUYER = Party(codes.BUYER, "Boulangeries Martin SARL", siren="356000000", address="356000000")
PLATFORM = Party(codes.PLATFORM, "PDP Gateway", platform_id="0042")  # the gateway, as sender and as issuer of its own statuses
FACTOR = Party(codes.FACTOR, "Affacturage Lyonnais SA", siren="552120222", address="552120222")
ISSUER_OF = {codes.SELLER: SELLER, codes.BUYER: BUYER, codes.PLATFORM: Party(codes.PLATFORM), codes.FACTOR: FACTOR}
RECIPIENTS_OF = {
    codes.SELLER: (BUYER, PPF_RECIPIENT),
    codes.BUYER: (SELLER, PPF_RECIPIENT),
    codes.PLATFORM: (SELLER, PPF_RECIPIENT),
    codes.FACTOR: (SELLER, BUYER),
}

INVOICE = InvoiceRef("F2026-000142", date(2026, 11, 20), "380", "732829320", received_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC))

COLLECTED = (
    Amount(codes.COLLECTED, Decimal("1000.00"), "EUR", Decimal("20.00"), date(2026, 11, 22)),
    Amount(codes.COLLECTED, Decimal("50.00"), "EUR", Decimal("5.50"), date(2026, 11, 22)),
)


def valid_change(code: str, at: datetime = AT, role: str | None = None) -> StatusChange:
    """A change of `code` the reform's rules accept: its first emitter, and the reason, comment and amounts it needs."""
    status = codes.status(code)
    return StatusChange(
        code,
        at,
        role or min(status.emitters),
        reason_code=sorted(status.reasons)[0] if status.needs_reason and status.reasons else None,
        comment="Voir la pièce jointe." if status.needs_comment else None,
        amounts=COLLECTED if status.needs_amounts else (),
    )


def submit_outgoing(api, number: str = "F2026-000142") -> str:
    """An outgoing invoice accepted by the intake (status 200 Déposée): the French B2B example under `number`."""
    response = api.post("/api/v1/invoices", json={**load_example("invoice-fr-b2b"), "number": number})
    assert response.status_code == 201 and response.get_json()["status"] == "200", response.get_json()
    return response.get_json()["id"]


def incoming_invoice(database, api, number: str = "F2026-000142", state: str = db.STATE_VALIDATED) -> str:
    """An invoice received for the tenant of `api` (as reception stores one: 202 Reçue par la plateforme), from the example's seller."""
    with database.session() as session:
        tenant = tenant_for_key(session, api.key)
        row = db.Invoice(
            tenant_id=tenant.id, direction="incoming", number=number, issue_date=INVOICE.issue_date, issue_year=INVOICE.issue_date.year,
            type_code="380", currency="EUR", seller_name=SELLER.name, seller_siren=SELLER.siren, buyer_name=BUYER.name, buyer_siren=BUYER.siren,
            profile="en16931", syntax="ubl-invoice", state=state, status="202", status_label=codes.label("202"), report={"valid": True},
        )  # fmt: skip
        row.events.append(db.StatusEvent(code="202", label=codes.label("202"), source="gateway"))
        session.add(row)
    return row.id
