"""The portal's reads: dashboard figures and the invoice list, always scoped to one tenant.

Aggregations run in the database (counts per status, per UTC hour, per rule id in the
stored reports) so pages stay fast with many invoices; the few spellings that differ
between SQLite and PostgreSQL (JSON arrays, hour truncation, amounts stored as text on
SQLite) are chosen here, in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, Select, String, and_, cast, exists, func, literal_column, or_, select, true, type_coerce
from sqlalchemy.orm import Session, defer
from sqlalchemy.types import TypeDecorator

from gateway.intake import xml_safe
from gateway.jobs.models import RETRYABLE_STATES, RETRYING, Delivery
from gateway.routing.models import DirectoryEntry
from gateway.routing.router import CHORUS_PRO, EMAIL_CHANNEL, PEPPOL, SANDBOX
from gateway.store import models as db

PER_PAGE = 25
MAX_PAGE = 100_000
TOP_RULES = 8
SORTS = {
    "number": db.Invoice.number,
    "issue_date": db.Invoice.issue_date,
    "buyer": func.lower(db.Invoice.buyer_name),
    "seller": func.lower(db.Invoice.seller_name),
    "status": db.Invoice.status,
    "received": db.Invoice.created_at,
    "amount": None,  # dialect-dependent, see _amount
}
DIRECTIONS = ("outgoing", "incoming")
CHANNELS = (CHORUS_PRO, PEPPOL, EMAIL_CHANNEL, SANDBOX)  # what routing can choose for an outgoing invoice
PERIODS = {"7d": 7, "30d": 30, "90d": 90, "12m": 365}
DEFAULT_PERIOD = "30d"
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # the days a dashboard period may cover
AWAITING_BUYER = ("202", "203")  # received and made available, the buyer has said nothing yet


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _amount(session: Session) -> Any:
    """The total with VAT as a number the database can compare and sort (SQLite keeps exact amounts as text)."""
    column = db.Invoice.tax_inclusive_amount
    return cast(column, Float) if _dialect(session) == "sqlite" else column


# ---------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """Days `start` to `end` (inclusive, in the portal's time zone), the preset that chose them if any, and the parameters
    that could not be read (the default period is used then)."""

    start: date
    end: date
    preset: str | None
    zone: ZoneInfo
    invalid: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants [from, to) covering the local days."""
        low = datetime.combine(self.start, time(), self.zone).astimezone(UTC)
        return low, datetime.combine(self.end + timedelta(days=1), time(), self.zone).astimezone(UTC)


def parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def parse_period(args: Mapping[str, str], zone: ZoneInfo, today: date | None = None) -> Period:
    """A preset (?period=7d|30d|90d|12m) or custom days (?from=&to=, either alone running to today or from 30 days before);
    30 days by default, at most 3 years, between FIRST_DAY and LAST_DAY.  What cannot be read is named, and the default used."""
    today = today or datetime.now(zone).date()
    default = Period(today - timedelta(days=PERIODS[DEFAULT_PERIOD] - 1), today, DEFAULT_PERIOD, zone)
    preset = args.get("period") or ""
    if preset:
        if preset in PERIODS:
            return replace(default, start=today - timedelta(days=PERIODS[preset] - 1), preset=preset)
        return replace(default, invalid=("period",))
    days = {name: parse_date(args.get(name)) for name in ("from", "to")}
    invalid = tuple(name for name, day in days.items() if args.get(name) and not (day and FIRST_DAY <= day <= LAST_DAY))
    if invalid or not (days["from"] or days["to"]):
        return replace(default, invalid=invalid)
    end = days["to"] or max(days["from"] or today, min(today, LAST_DAY))
    start = days["from"] or max(end - timedelta(days=PERIODS[DEFAULT_PERIOD] - 1), FIRST_DAY)
    if start > end:
        return replace(default, invalid=("from", "to"))
    return Period(max(start, end - timedelta(days=3 * 366)), end, None, zone)


# ---------------------------------------------------------------------------- dashboard


@dataclass
class Dashboard:
    total: int = 0
    rejected: int = 0
    by_status: list[tuple[str, str, int]] = field(default_factory=list)  # (code, stored label, count), most frequent first
    by_direction: dict[str, int] = field(default_factory=dict)
    received_untouched: int = 0  # incoming invoices of the period the buyer has not responded to yet (still 202 or 203)
    top_rules: list[tuple[str, int]] = field(default_factory=list)  # (rule id, invoices failing it)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # currency → total with VAT of the accepted invoices
    buckets: list[tuple[date, int, int]] = field(default_factory=list)  # (first day, accepted, rejected)
    bucket: str = "day"  # day, week or month
    by_channel: list[tuple[str | None, int]] = field(default_factory=list)  # (channel, None: not routed yet; deliveries), most first
    failing: int = 0  # the tenant's deliveries waiting for a retry after a transient failure (now, whatever the period)
    dead: int = 0  # the tenant's deliveries in the dead-letter queue, dead or unroutable (now)

    @property
    def rejection_rate(self) -> float | None:
        return self.rejected / self.total if self.total else None


def _sum_of_amounts(session: Session) -> Any:
    """SUM of the totals with VAT, exact: NUMERIC on PostgreSQL; on SQLite (amounts kept as text) summed as integer cents,
    exact because accepted invoices carry at most two decimals in their totals (EN 16931 BR-DEC-14)."""
    column = db.Invoice.tax_inclusive_amount
    if _dialect(session) != "sqlite":
        return func.sum(column)
    cents = func.sum(cast(func.round(cast(column, Float) * 100), Integer))
    return type_coerce(cents, _Cents())


class _Cents(TypeDecorator[Decimal]):
    """An integer count of cents read back as a Decimal amount."""

    impl = Integer()
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(int(value)).scaleb(-2)


def _hour(session: Session) -> Any:
    """The UTC hour of reception as text, "YYYY-MM-DD HH" (SQLite keeps UTC times as "YYYY-MM-DD HH:MM:SS.ffffff" text)."""
    if _dialect(session) == "sqlite":
        return func.substr(db.Invoice.created_at, 1, 13)
    return func.to_char(func.timezone(literal_column("'UTC'"), db.Invoice.created_at), literal_column("'YYYY-MM-DD HH24'"))


def _fatal_rules(session: Session) -> tuple[Any, Any, Any]:
    """(rule id, severity, FROM clause) over the findings of each invoice's stored report."""
    if _dialect(session) == "sqlite":
        findings = func.json_each(db.Invoice.report, "$.findings").table_valued("value").alias("finding")
        return func.json_extract(findings.c.value, "$.rule_id"), func.json_extract(findings.c.value, "$.severity"), findings
    findings = func.jsonb_array_elements(db.Invoice.report["findings"]).table_valued("value").alias("finding")
    return findings.c.value.op("->>")(literal_column("'rule_id'")), findings.c.value.op("->>")(literal_column("'severity'")), findings


def _bucket_start(day: date, bucket: str) -> date:
    if bucket == "month":
        return day.replace(day=1)
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    return day


def _buckets(period: Period) -> tuple[str, list[date]]:
    """Days up to 5 weeks, weeks up to 6 months, months beyond, covering the period."""
    bucket = "day" if period.days <= 35 else "week" if period.days <= 190 else "month"
    starts, day = [], _bucket_start(period.start, bucket)
    while day <= period.end:
        starts.append(day)
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1) if bucket == "month" else day + timedelta(days=7 if bucket == "week" else 1)
    return bucket, starts


def dashboard(session: Session, tenant_id: int, period: Period) -> Dashboard:
    """The tenant's figures for invoices received during `period`."""
    low, high = period.bounds()
    scope = (db.Invoice.tenant_id == tenant_id, db.Invoice.created_at >= low, db.Invoice.created_at < high)
    result = Dashboard()
    result.bucket, starts = _buckets(period)
    counts: dict[date, list[int]] = {start: [0, 0] for start in starts}
    by_status: dict[str, list[Any]] = {}
    by_direction: Counter[str] = Counter()
    hour = _hour(session)
    # One pass: counts per UTC hour, status, direction and state; Python folds them into local days and totals.
    for stamp, code, label, direction, state, count in session.execute(
        select(hour, db.Invoice.status, func.min(db.Invoice.status_label), db.Invoice.direction, db.Invoice.state, func.count())
        .where(*scope)
        .group_by(hour, db.Invoice.status, db.Invoice.direction, db.Invoice.state)
    ):
        by_status.setdefault(code, [label, 0])[1] += count
        by_direction[direction] += count
        if direction == "incoming" and code in AWAITING_BUYER:
            result.received_untouched += count
        local = datetime(int(stamp[:4]), int(stamp[5:7]), int(stamp[8:10]), int(stamp[11:13]), tzinfo=UTC).astimezone(period.zone).date()
        slot = counts.get(_bucket_start(local, result.bucket))
        if slot is not None:
            slot[state == db.STATE_REJECTED] += count
    result.by_status = sorted(((code, label, count) for code, (label, count) in by_status.items()), key=lambda item: (-item[2], item[0]))
    result.by_direction = dict(by_direction)
    result.total = sum(by_direction.values())
    result.buckets = [(start, accepted, refused) for start, (accepted, refused) in counts.items()]
    result.rejected = sum(refused for _, _, refused in result.buckets)

    rejected = db.Invoice.state == db.STATE_REJECTED
    rule, severity, findings = _fatal_rules(session)
    result.top_rules = [
        (str(rule_id), count)
        for rule_id, count in session.execute(
            select(rule, func.count(db.Invoice.id.distinct()))
            .select_from(db.Invoice)
            .join(findings, true())
            .where(*scope, rejected, severity == "fatal", rule.is_not(None), cast(rule, String) != "")
            .group_by(rule)
            .order_by(func.count(db.Invoice.id.distinct()).desc(), rule)
            .limit(TOP_RULES)
        )
    ]
    totals = session.execute(select(db.Invoice.currency, _sum_of_amounts(session)).where(*scope, ~rejected).group_by(db.Invoice.currency))
    result.amounts = {currency: total for currency, total in sorted(totals) if total is not None}
    channels = session.execute(
        select(Delivery.channel, func.count()).join(db.Invoice, Delivery.invoice_id == db.Invoice.id).where(*scope).group_by(Delivery.channel)
    )
    result.by_channel = sorted(channels, key=lambda item: (-item[1], item[0] or ""))
    states = dict(
        session.execute(
            select(Delivery.state, func.count())
            .where(Delivery.tenant_id == tenant_id, Delivery.state.in_((RETRYING, *RETRYABLE_STATES)))
            .group_by(Delivery.state)
        ).all()
    )
    result.failing, result.dead = states.get(RETRYING, 0), sum(states.get(state, 0) for state in RETRYABLE_STATES)
    return result


# ---------------------------------------------------------------------------- invoice list


@dataclass(frozen=True)
class InvoiceFilter:
    """The list's search, filters, sort and page, as read from the query string (values that cannot be read are dropped, and named)."""

    q: str = ""
    status: str = ""
    direction: str = ""
    channel: str = ""  # one of CHANNELS: the invoice has a delivery through it
    issued_from: date | None = None
    issued_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    sort: str = "received"
    descending: bool = True
    page: int = 1
    invalid: tuple[str, ...] = ()  # names of the parameters that were ignored

    def args(self, **changes: Any) -> dict[str, str]:
        """Query-string arguments reproducing this filter, with `changes` (for sort links and pagination)."""
        current = replace(self, **changes)
        values = {
            "q": current.q,
            "status": current.status,
            "direction": current.direction,
            "channel": current.channel,
            "from": current.issued_from.isoformat() if current.issued_from else "",
            "to": current.issued_to.isoformat() if current.issued_to else "",
            "min": str(current.amount_min) if current.amount_min is not None else "",
            "max": str(current.amount_max) if current.amount_max is not None else "",
            "sort": current.sort if current.sort != "received" else "",
            "order": "asc" if not current.descending else "",
            "page": str(current.page) if current.page > 1 else "",
        }
        return {k: v for k, v in values.items() if v}

    @property
    def active(self) -> bool:
        return (
            bool(self.q or self.status or self.direction or self.channel or self.issued_from or self.issued_to)
            or self.amount_min is not None
            or self.amount_max is not None
        )


def parse_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace("\u202f", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() and abs(value) < Decimal(10) ** 15 else None


def parse_filter(args: Mapping[str, str]) -> InvoiceFilter:
    invalid: list[str] = []

    def text(name: str, limit: int = 200) -> str:
        value = (args.get(name) or "").strip()[:limit]
        if not xml_safe(value):  # NUL and other controls match nothing stored, and PostgreSQL refuses them: a 500 otherwise
            invalid.append(name)
            return ""
        return value

    def checked(name: str, parse: Any) -> Any:
        raw = text(name)
        value = parse(raw) if raw else None
        if raw and value is None:
            invalid.append(name)
        return value

    def page(raw: str) -> int | None:
        return int(raw) if len(raw) <= 9 and raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_PAGE else None  # no int() of 10⁴ digits

    def one_of(choices: Any) -> Any:
        return lambda raw: raw if raw in choices else None

    return InvoiceFilter(
        q=text("q"),
        status=text("status", 16),
        direction=checked("direction", one_of(DIRECTIONS)) or "",
        channel=checked("channel", one_of(CHANNELS)) or "",
        issued_from=checked("from", parse_date),
        issued_to=checked("to", parse_date),
        amount_min=checked("min", parse_decimal),
        amount_max=checked("max", parse_decimal),
        sort=checked("sort", one_of(SORTS)) or "received",
        descending=checked("order", one_of(("asc", "desc"))) != "asc",
        page=checked("page", page) or 1,
        invalid=tuple(invalid),
    )


def _filtered(session: Session, tenant_id: int, flt: InvoiceFilter) -> Select[Any]:
    conditions: list[Any] = [db.Invoice.tenant_id == tenant_id]
    if flt.q:
        needle = flt.q.lower()
        digits = flt.q.replace(" ", "")
        matches = [
            func.lower(db.Invoice.number).contains(needle, autoescape=True),
            func.lower(db.Invoice.buyer_name).contains(needle, autoescape=True),
            func.lower(db.Invoice.seller_name).contains(needle, autoescape=True),
        ]
        if digits.isdigit():
            matches += [
                db.Invoice.buyer_siren.startswith(digits[:9], autoescape=True),
                db.Invoice.seller_siren.startswith(digits[:9], autoescape=True),
            ]
        conditions.append(or_(*matches))
    if flt.status:
        conditions.append(db.Invoice.status == flt.status)
    if flt.direction:
        conditions.append(db.Invoice.direction == flt.direction)
    if flt.channel:
        conditions.append(exists().where(Delivery.invoice_id == db.Invoice.id, Delivery.channel == flt.channel))
    if flt.issued_from:
        conditions.append(db.Invoice.issue_date >= flt.issued_from)
    if flt.issued_to:
        conditions.append(db.Invoice.issue_date <= flt.issued_to)
    amount = _amount(session)
    bound = float if _dialect(session) == "sqlite" else Decimal
    if flt.amount_min is not None:
        conditions.append(amount >= bound(flt.amount_min))
    if flt.amount_max is not None:
        conditions.append(amount <= bound(flt.amount_max))
    return select(db.Invoice).where(and_(*conditions))


def _ordered(session: Session, query: Select[Any], flt: InvoiceFilter) -> Select[Any]:
    key = SORTS[flt.sort] if flt.sort != "amount" else _amount(session)
    direction = key.desc() if flt.descending else key.asc()
    tie = db.Invoice.id.desc() if flt.descending else db.Invoice.id.asc()
    return query.order_by(direction.nulls_last(), tie)


def invoice_page(session: Session, tenant_id: int, flt: InvoiceFilter) -> tuple[list[db.Invoice], int]:
    """One page of the tenant's invoices matching `flt`, and how many match in all.

    The page's ids are sorted first (narrow rows), then only those invoices are loaded: sorting
    whole rows, stored reports included, to skip most of them made deep pages slow.
    """
    query = _filtered(session, tenant_id, flt)
    total = session.scalar(query.with_only_columns(func.count()).select_from(db.Invoice)) or 0
    page = _ordered(session, query.with_only_columns(db.Invoice.id), flt).limit(PER_PAGE).offset((flt.page - 1) * PER_PAGE)
    ids = list(session.scalars(page))
    rows = {row.id: row for row in session.scalars(select(db.Invoice).where(db.Invoice.id.in_(ids)).options(defer(db.Invoice.report)))}
    return [rows[invoice_id] for invoice_id in ids], total


def all_invoices(session: Session, tenant_id: int, flt: InvoiceFilter) -> Iterator[db.Invoice]:
    """Every matching invoice, in the list's order, streamed (CSV export)."""
    query = _ordered(session, _filtered(session, tenant_id, flt), flt).options(defer(db.Invoice.report))
    yield from session.scalars(query, execution_options={"yield_per": 500})


def statuses(session: Session, tenant_id: int) -> list[tuple[str, str]]:
    """The (code, stored label) pairs the tenant's invoices have, for the status filter."""
    rows = session.execute(
        select(db.Invoice.status, func.min(db.Invoice.status_label)).where(db.Invoice.tenant_id == tenant_id).group_by(db.Invoice.status)
    )
    return sorted((tuple(row) for row in rows), key=lambda row: row[0])


def rejected_recently(session: Session, tenant_id: int, limit: int = 20) -> list[tuple[db.Invoice, list[str]]]:
    """The latest rejected invoices with their fatal rule ids (the Operations page's work list)."""
    rows = session.scalars(
        select(db.Invoice)
        .where(db.Invoice.tenant_id == tenant_id, db.Invoice.state == db.STATE_REJECTED)
        .order_by(db.Invoice.created_at.desc(), db.Invoice.id.desc())
        .limit(limit)
    ).all()
    return [(row, fatal_rules(row.report)) for row in rows]


def fatal_rules(report: Mapping[str, Any]) -> list[str]:
    """The distinct rule ids of a stored report's fatal findings, most repeated first."""
    counts = Counter(f.get("rule_id") or "" for f in report.get("findings", []) if f.get("severity") == "fatal")
    return [rule for rule, _ in counts.most_common() if rule]


# ---------------------------------------------------------------------------- deliveries and routing


def deliveries_of(session: Session, tenant_id: int, invoice_id: str) -> list[Delivery]:
    """The invoice's deliveries, oldest first, with their attempt rows (the invoice page's delivery section)."""
    return list(
        session.scalars(
            select(Delivery).where(Delivery.tenant_id == tenant_id, Delivery.invoice_id == invoice_id).order_by(Delivery.created_at, Delivery.id)
        )
    )


def deliveries_in(session: Session, tenant_id: int, states: tuple[str, ...], limit: int = 50) -> list[tuple[Delivery, db.Invoice]]:
    """The tenant's deliveries in one of `states` with their invoices, least recently changed first (the Operations work lists)."""
    return [
        (delivery, invoice)
        for delivery, invoice in session.execute(
            select(Delivery, db.Invoice)
            .join(db.Invoice, Delivery.invoice_id == db.Invoice.id)
            .where(Delivery.tenant_id == tenant_id, Delivery.state.in_(states))
            .order_by(Delivery.updated_at, Delivery.id)
            .limit(limit)
        )
    ]


def directory(session: Session, tenant_id: int, limit: int = 200) -> list[DirectoryEntry]:
    """The routing directory entries the tenant's invoices may use: its own and the shared ones (tenant None)."""
    return list(
        session.scalars(
            select(DirectoryEntry)
            .where(or_(DirectoryEntry.tenant_id == tenant_id, DirectoryEntry.tenant_id.is_(None)))
            .order_by(DirectoryEntry.name, DirectoryEntry.scheme, DirectoryEntry.identifier)
            .limit(limit)
        )
    )
