"""What the dunning tests share besides fixtures: the policy, invoices issued and delivered, the messages received."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from gateway.lifecycle import codes, service
from gateway.lifecycle.events import StatusChange
from gateway.store import models as db
from tests.api.conftest import Api
from tests.conftest import load_example
from tests.connectors.smtp_server import SmtpServer

POLICY = {
    "language": "fr",
    "tiers": [
        {"name": "rappel", "days": 7, "channels": ["email"], "tone": "friendly"},
        {"name": "relance", "days": 21, "channels": ["email", "webhook"], "tone": "firm"},
        {"name": "mise-en-demeure", "days": 45, "channels": ["email", "letter"], "tone": "formal_notice"},
    ],
}


def issue(api: Api, database, archive, number: str, due: date, **changes) -> dict:
    """An outgoing invoice of the French B2B example under `number`, due on `due`, delivered to its buyer (201)."""
    invoice = {**load_example("invoice-fr-b2b"), "number": number, "issue_date": (due.replace(day=1)).isoformat(), "due_date": due.isoformat()}
    response = api.post("/api/v1/invoices", json={**invoice, **changes})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    with database.session() as session:
        change = StatusChange("201", datetime.now(UTC), codes.PLATFORM)
        service.record(session, archive, session.get(db.Invoice, body["id"]), change, source=service.SOURCE_GATEWAY, actor="gateway:delivery")
    return body


def messages_to(smtp: SmtpServer, address: str, since: int = 0) -> list[EmailMessage]:
    """The messages to `address` the server received, from its `since`-th on (the server serves every test of the session)."""
    found = [message_from_bytes(m.content, policy=policy.default) for m in smtp.messages[since:] if address in m.rcpt_tos]
    return [m for m in found if isinstance(m, EmailMessage)]
