"""The directory of known recipients: look-up by a buyer's identifiers, and import from CSV.

CSV columns (header required; only `scheme` and `identifier` are mandatory):

    scheme,identifier,name,channel,public_sector,email,peppol_id

`scheme` is `siren` (0002), `siret` (0009), `vat`, `email` (EM) or the ISO 6523 ICD of an electronic
address (`0225` …).  `channel` names a connector (chorus_pro, peppol, email) or is empty: the channel
is then inferred — public_sector → chorus_pro, else peppol_id → peppol, else email → email.
An import is all or nothing: one bad line and nothing is written, every bad line is named.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session
from stdnum.fr import siren, siret, tva

from connectors.email.message import checked_address
from connectors.peppol.identifiers import IdentifierError, ParticipantId
from gateway.config import ConfigError
from gateway.routing.models import DirectoryEntry
from gateway.routing.settings import check_channel, normalise
from gateway.store.models import Tenant

SIREN, SIRET, VAT, EMAIL = "0002", "0009", "VAT", "EM"
SCHEME_ALIASES = {"siren": SIREN, "siret": SIRET, "vat": VAT, "email": EMAIL, "em": EMAIL}
COLUMNS = ("scheme", "identifier", "name", "channel", "public_sector", "email", "peppol_id")
_TRUE, _FALSE = {"1", "true", "yes", "oui", "y"}, {"", "0", "false", "no", "non", "n"}
MAX_LINES = 1_000_000


class DirectoryError(ValueError):
    """A CSV file that cannot be imported; `problems` names each bad line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the directory file; nothing was imported")
        self.problems = problems


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int


def scheme_of(text: str) -> str:
    """The stored scheme for a CSV `scheme` value, or ValueError."""
    value = text.strip()
    scheme = SCHEME_ALIASES.get(value.lower(), value.upper())
    if scheme not in (VAT, EMAIL) and not (len(scheme) == 4 and scheme.isdigit()):
        raise ValueError(f"unknown scheme {text!r} (siren, siret, vat, email or a 4-digit ISO 6523 ICD)")
    return scheme


def _check_identifier(scheme: str, value: str) -> None:
    if scheme == SIREN and not siren.is_valid(value):
        raise ValueError(f"{value!r} is not a valid SIREN")
    if scheme == SIRET and not siret.is_valid(value):
        raise ValueError(f"{value!r} is not a valid SIRET")
    if scheme == VAT and (not value[:2].isalpha() or len(value) < 5 or (value.startswith("FR") and not tva.is_valid(value))):
        raise ValueError(f"{value!r} is not a VAT number with its country prefix")
    if scheme == EMAIL:
        checked_address(value.lower(), "e-mail identifier")


def _entry_values(row: dict[str, str]) -> dict[str, object]:
    """The checked column values of one CSV line; ValueError names the first problem."""
    scheme = scheme_of(row.get("scheme") or "")
    identifier = normalise(row.get("identifier") or "")
    if not identifier:
        raise ValueError("the identifier is empty")
    _check_identifier(scheme, identifier)
    channel = (row.get("channel") or "").strip() or None
    if channel is not None:
        try:
            check_channel(channel, "channel")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
    public = (row.get("public_sector") or "").strip().lower()
    if public not in _TRUE | _FALSE:
        raise ValueError(f"public_sector must be true or false, not {row.get('public_sector')!r}")
    email = (row.get("email") or "").strip() or None
    if email:
        checked_address(email, "email")
    peppol_id = (row.get("peppol_id") or "").strip() or None
    if peppol_id:
        peppol_id = ParticipantId.parse(peppol_id).prefixed
    return {
        "scheme": scheme,
        "identifier": identifier,
        "name": (row.get("name") or "").strip(),
        "channel": channel,
        "public_sector": public in _TRUE,
        "email": email,
        "peppol_id": peppol_id,
    }


def read_csv(text: str) -> list[dict[str, object]]:
    """Every line of a directory CSV, checked; DirectoryError listing every bad line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"scheme", "identifier"} - set(reader.fieldnames or ())
    if missing:
        raise DirectoryError([f"line 1: missing column(s) {', '.join(sorted(missing))} (columns: {', '.join(COLUMNS)})"])
    unknown = set(reader.fieldnames or ()) - set(COLUMNS) - {""}
    problems = [f"line 1: unknown column(s) {', '.join(sorted(unknown))}"] if unknown else []
    entries: dict[tuple[object, object], dict[str, object]] = {}
    for row in reader:
        if reader.line_num > MAX_LINES:
            raise DirectoryError([f"more than {MAX_LINES} lines"])
        try:
            values = _entry_values(row)
        except (ValueError, IdentifierError) as exc:
            problems.append(f"line {reader.line_num}: {getattr(exc, 'message', None) or exc}")
            continue
        entries[values["scheme"], values["identifier"]] = values  # a later line for the same identifier wins
    if problems:
        raise DirectoryError(problems)
    return list(entries.values())


def import_csv(session: Session, text: str, tenant: Tenant | None = None) -> ImportResult:
    """Add or update the entries of a directory CSV, for `tenant` or (None) for every tenant; the caller commits."""
    added = updated = 0
    for values in read_csv(text):
        tenant_match = DirectoryEntry.tenant_id.is_(None) if tenant is None else DirectoryEntry.tenant_id == tenant.id
        existing = session.scalar(
            select(DirectoryEntry).where(tenant_match, DirectoryEntry.scheme == values["scheme"], DirectoryEntry.identifier == values["identifier"])
        )
        if existing is None:
            session.add(DirectoryEntry(tenant_id=tenant.id if tenant else None, **values))
            added += 1
        else:
            for name, value in values.items():
                setattr(existing, name, value)
            updated += 1
    session.flush()
    return ImportResult(added, updated)


def find(session: Session, tenant_id: int, keys: Iterable[tuple[str, str]]) -> DirectoryEntry | None:
    """The entry for the first of `keys` (scheme, normalised identifier) that has one; the tenant's own before a shared one."""
    order = {key: position for position, key in enumerate(keys)}
    if not order:
        return None
    rows = session.scalars(
        select(DirectoryEntry).where(
            tuple_(DirectoryEntry.scheme, DirectoryEntry.identifier).in_(list(order)),
            or_(DirectoryEntry.tenant_id == tenant_id, DirectoryEntry.tenant_id.is_(None)),
        )
    ).all()
    return min(rows, key=lambda e: (order[(e.scheme, e.identifier)], e.tenant_id is None), default=None)
