"""The invoice list as CSV: what a spreadsheet of the reader's locale opens as it is.

UTF-8 with a BOM; in French semicolons and decimal commas; amounts exact (no thousands separator);
times in the portal's zone with their offset (ISO 8601, 2026-12-06T10:15:00+01:00); text that came
from invoices never starts a formula (CSV injection).  Rows are streamed: an export of every invoice
holds one row at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

from gateway.portal.i18n import gettext as _
from gateway.portal.labels import direction_name, status_label
from gateway.store import models as db
from gateway.texts import N_

Cell = Callable[[db.Invoice, Callable[[Decimal | None], str], ZoneInfo], str]  # (row, amount formatter, zone) -> text
COLUMNS: tuple[tuple[str, Cell], ...] = (
    (N_("Number"), lambda r, f, z: r.number),
    (N_("Type"), lambda r, f, z: r.type_code),
    (N_("Direction"), lambda r, f, z: direction_name(r.direction)),
    (N_("Issue date"), lambda r, f, z: r.issue_date.isoformat()),
    (N_("Seller"), lambda r, f, z: r.seller_name),
    (N_("Seller SIREN"), lambda r, f, z: r.seller_siren or ""),
    (N_("Buyer"), lambda r, f, z: r.buyer_name),
    (N_("Buyer SIREN"), lambda r, f, z: r.buyer_siren or ""),
    (N_("Currency"), lambda r, f, z: r.currency),
    (N_("Total without VAT"), lambda r, f, z: f(r.tax_exclusive_amount)),
    (N_("VAT"), lambda r, f, z: f(r.tax_amount)),
    (N_("Total with VAT"), lambda r, f, z: f(r.tax_inclusive_amount)),
    (N_("Amount due"), lambda r, f, z: f(r.amount_due)),
    (N_("Status"), lambda r, f, z: r.status),
    (N_("Status label"), lambda r, f, z: status_label(r.status, r.status_label)),
    (N_("Received"), lambda r, f, z: r.created_at.astimezone(z).isoformat(timespec="seconds")),
    (N_("Identifier"), lambda r, f, z: r.id),
)


def csv_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in text that came from invoices (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_lines(rows: Iterable[db.Invoice], lang: str, zone: ZoneInfo) -> Iterator[str]:
    """The header line (with the BOM), then one line per row."""

    def amount(value: Decimal | None) -> str:
        return "" if value is None else (str(value).replace(".", ",") if lang == "fr" else str(value))

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if lang == "fr" else ",", lineterminator="\r\n")
    writer.writerow([_(name) for name, _cell in COLUMNS])
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(cell(row, amount, zone)) for _name, cell in COLUMNS])
        yield buffer.getvalue()
