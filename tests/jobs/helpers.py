"""Shared by the delivery tests, the crash test and the delivery benchmark: fresh databases, cheap invoices, loopback networks.

Invoices are stored through `intake.store` (the transaction that writes the outbox row) from the French
B2B example with another number and buyer; their CII, UBL and canonical JSON are written by the
gateway's writers, but the official validation and the Factur-X rendering (~0.3 s per invoice) are
skipped: the delivery tests need hundreds of invoices, and intake has its own tests.  A Factur-X PDF,
when wanted, is one rendered once and stored for every invoice (its page shows the example's number).
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from gateway import intake
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.formats.cii import write_cii
from gateway.formats.facturx import build_facturx
from gateway.formats.ubl import write_ubl
from gateway.model.serialize import to_json
from gateway.store import models as db
from gateway.store.session import Database, upgrade
from gateway.store.tenants import create_tenant
from tests.conftest import _postgres_schema_url, load_example
from tests.connectors.chorus_pro_server import ChorusProServer
from tests.connectors.documents import BUYER_SIRET, SERVICE_CODE
from tests.connectors.smtp_server import SmtpServer, make_certificate

# The example's buyer is the public buyer (its SIRET is a Chorus Pro structure of the loopback server).
PUBLIC_BUYER: dict[str, Any] = {}
# A private company reachable only by e-mail (no electronic address, so routing falls back to its contact e-mail).
PRIVATE_BUYER: dict[str, Any] = {
    "name": "Menuiserie Leroux SARL",
    "identifiers": [{"value": "44306184100047", "scheme": "0009"}],
    "legal_registration_id": {"value": "443061841", "scheme": "0002"},
    "vat_id": "FR64443061841",
    "electronic_address": None,
    "contact": {"name": "Paul Leroux", "email": "compta@menuiserie-leroux.example"},
}


def config_for(kind: str, data_dir: Path, request: pytest.FixtureRequest, **sections: Any) -> Config:
    """A migrated configuration on a fresh database: a SQLite file in `data_dir`, or a new PostgreSQL schema."""
    url = _postgres_schema_url(request) if kind == "postgresql" else ""
    config = Config(data_dir=data_dir, database_url=url, config_dir=data_dir / "no-config", sections=MappingProxyType(sections))
    upgrade(config)
    return config


def with_sections(config: Config, **sections: Any) -> Config:
    return dataclasses.replace(config, sections=MappingProxyType({**config.sections, **sections}))


@cache
def _facturx() -> bytes:
    processed = intake.read_json(load_example("invoice-fr-b2b"))
    return build_facturx(processed.invoice, write_cii(processed.invoice), language="fr")


def invoice_json(number: str, buyer: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """The example invoice's intake JSON as `number`, to `buyer` (changes to the example's buyer), with other `fields`."""
    data = {**copy.deepcopy(load_example("invoice-fr-b2b")), **fields}
    data["number"] = number
    data["buyer"] = {k: v for k, v in {**data["buyer"], **(buyer or {})}.items() if v is not None}
    return data


def processed(number: str, buyer: dict[str, Any] | None = None, *, facturx: bool = False, **fields: Any) -> intake.Processed:
    """The example invoice as `number`, to `buyer`, with other `fields` (see `invoice_json`), ready for `intake.store`."""
    result = intake.read_json(invoice_json(number, buyer, **fields))
    invoice = result.invoice
    result.documents["cii"] = (write_cii(invoice, profile=result.profile.name), intake.XML_TYPE)
    result.documents["ubl"] = (write_ubl(invoice), intake.XML_TYPE)
    result.documents["canonical"] = (to_json(invoice), intake.JSON_TYPE)
    if facturx:
        result.documents["facturx"] = (_facturx(), intake.PDF_TYPE)
    return result


def new_tenant(database: Database, name: str | None = None) -> db.Tenant:
    with database.session() as session:
        return create_tenant(session, name or f"tenant-{uuid.uuid4().hex[:10]}")


def submit(
    database: Database,
    archive: Archive,
    tenant: db.Tenant,
    count: int,
    buyer: dict[str, Any] | None = None,
    *,
    facturx: bool = False,
    **fields: Any,
) -> list[str]:
    """Store `count` valid invoices for `tenant` (one transaction each, as the API does); their ids."""
    prefix = uuid.uuid4().hex[:8].upper()
    ids = []
    for i in range(count):
        with database.session() as session:
            owner = session.get(db.Tenant, tenant.id)
            ids.append(intake.store(session, archive, owner, processed(f"F{prefix}-{i:05d}", buyer, facturx=facturx, **fields)).id)
    return ids


@dataclass
class Networks:
    """The loopback Chorus Pro (PISTE) and SMTP servers, and connector settings that reach them."""

    chorus: ChorusProServer
    smtp: SmtpServer
    ca_file: Path

    def connectors(self, **chorus_overrides: Any) -> dict[str, Any]:
        return {
            "chorus_pro": self.chorus.client_config(**{"timeout": 5.0, "report_wait": 2.0, **chorus_overrides}),
            "email": self.smtp.client_config(self.ca_file),
        }

    def message_ids(self) -> list[str]:
        """The Message-ID of every message the SMTP server accepted, duplicates included."""
        ids = []
        for message in self.smtp.messages:
            header = next(line for line in message.content.splitlines() if line.lower().startswith(b"message-id:"))
            ids.append(header.split(b":", 1)[1].strip().decode())
        return ids

    def deposited_numbers(self) -> list[str]:
        """The invoice number of every flow Chorus Pro integrated, duplicates included."""
        return [record.number for record in self.chorus.invoices.values()]


@contextmanager
def networks(directory: Path) -> Iterator[Networks]:
    cert, key = make_certificate(directory)
    with ChorusProServer() as chorus, SmtpServer(cert, key) as smtp:
        chorus.add_structure(BUYER_SIRET, service_required=True, services={SERVICE_CODE: True})
        yield Networks(chorus, smtp, cert)


def routing_section(**settings: Any) -> dict[str, Any]:
    """Routing for the tests: the example's public buyer is in no directory, so a buyer rule sends it to Chorus Pro."""
    return {"peppol_participants": "ignore", "rules": [{"buyer": BUYER_SIRET, "channel": "chorus_pro"}], **settings}
