"""Intake: an invoice comes in, its documents are generated and validated, and everything is stored at once.

Two ways in: the intake JSON (`submit_json`) and a ready-made UBL, CII or
Factur-X document (`submit_document`).  Both give the canonical invoice, whose
totals `complete()` fills in or checks, then the CII (chosen Factur-X profile),
the UBL and the Factur-X PDF.  Every generated XML is validated with the official
artefacts (a received document is validated as received); the findings make one
report.  An invoice with a fatal finding is still stored, with its report, its
input and its XML documents, as "rejected": it is kept for inspection, never
routed, and gets no Factur-X PDF.

The service knows nothing of HTTP: callers hand it a session (and commit it).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.errors import InputError
from gateway.formats.cii import read_cii, write_cii
from gateway.formats.documents import Document, read_document
from gateway.formats.facturx import build_facturx
from gateway.formats.profiles import Profile, get_profile
from gateway.formats.typefaces import describe, undrawable
from gateway.formats.ubl import read_ubl, write_ubl
from gateway.jobs import outbox
from gateway.metadata import check_metadata, erp_reference
from gateway.model import schema_errors
from gateway.model.invoice import Invoice, Party
from gateway.model.schema import invoice_json_schema
from gateway.model.schema_errors import Detail
from gateway.model.serialize import DecodeError, invoice_from_json, to_json
from gateway.model.totals import complete
from gateway.observability import context as log_context
from gateway.observability import metrics
from gateway.store import models as db
from gateway.validation import code_lists
from gateway.validation.pipeline import validate
from gateway.validation.report import Report
from gateway.webhooks import sender as webhooks

JSON_TYPE = "application/json"
XML_TYPE = "application/xml"
PDF_TYPE = "application/pdf"

STATUS_DEPOSEE = ("200", "Déposée")
STATUS_REJECTED = (db.STATUS_REJECTED, "Rejetée aux contrôles de dépôt")
SOURCE = "gateway-intake"

# Bounds that keep every computation exact (A7 G1.14 allows 19 positions; no invoice needs more than 15 integer digits).
MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 10


class InvalidInvoice(InputError):
    """The intake JSON (or a decoded document) does not fit the intake format; every problem is listed."""

    status = 422
    code = "invalid_invoice"

    def __init__(self, message: str, details: list[Detail]) -> None:
        super().__init__(message, details[0].pointer if details else None)
        self.details = details


class DuplicateInvoice(InputError):
    """Same seller SIREN, number and year as an invoice already accepted (A7 G1.45)."""

    status = 409
    code = "duplicate_invoice"

    def __init__(self, message: str, existing_id: str) -> None:
        super().__init__(message, "/number")
        self.existing_id = existing_id

    def members(self) -> dict[str, object]:
        return {"existing_invoice": self.existing_id}


class UnknownProfile(InputError):
    """A Factur-X profile name the gateway does not know."""

    status = 400
    code = "unknown_profile"


@dataclass
class Processed:
    """An invoice ready to store: the canonical model, its documents (kind → bytes, content type) and its merged report."""

    invoice: Invoice
    profile: Profile
    syntax: str  # of the input: json, cii, ubl-invoice, ubl-creditnote, facturx
    report: Report
    documents: dict[str, tuple[bytes, str]]
    whole: bool = True  # False for a MINIMUM / BASIC WL document: too little data for a UBL invoice
    metadata: dict[str, Any] | None = None  # the ERP's own data on the invoice (gateway.metadata), stored and given back as is


# ---------------------------------------------------------------------------- decoding


@cache
def _schema_validator() -> Draft202012Validator:
    return Draft202012Validator(invoice_json_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_error_details(error: ValidationError) -> list[Detail]:
    """One detail per offending value, in words (`gateway.model.schema_errors`: no schema notation shown)."""
    return schema_errors.details(error)


def decode_json(data: Any) -> Invoice:
    """The canonical invoice of intake JSON, or `InvalidInvoice` listing every problem with its JSON pointer."""
    details: dict[tuple[str, str], Detail] = {}
    for error in _schema_validator().iter_errors(data):
        for detail in schema_error_details(error):
            details.setdefault((detail.pointer, detail.message), detail)
    if details:
        ordered = sorted(details.values(), key=lambda d: d.pointer)
        raise InvalidInvoice(f"The invoice does not match the intake format ({len(ordered)} problem(s)).", ordered)
    try:
        invoice = invoice_from_json({name: value for name, value in data.items() if name != "metadata"})  # metadata: not the invoice's
    except DecodeError as exc:
        raise InvalidInvoice("The invoice does not match the intake format.", [Detail(exc.pointer, exc.message)]) from None
    details = _value_details(invoice) + [Detail(pointer, message) for pointer, message in code_lists.problems(_walk(invoice))]
    if details:  # one error per field: a wrong code never reaches the official rules, which would report it on every use
        details.sort(key=lambda detail: detail.pointer)
        raise InvalidInvoice(f"The invoice does not match the intake format ({len(details)} problem(s)).", details)
    return invoice


def xml_safe(text: str) -> bool:
    """XML 1.0 characters only (no NUL or other C0 controls, no lone surrogates)."""
    return all(ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or "\U00010000" <= ch <= "\U0010ffff" for ch in text)


def _walk(obj: Any, pointer: str = "") -> Any:
    """(pointer, value) for every leaf value of a model object, pointers as in the intake JSON."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name), f"{pointer}/{f.name}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{pointer}/{i}")
    elif obj is not None:
        yield pointer, obj


def check_values(invoice: Invoice) -> None:
    """Refuse text that XML cannot carry and numbers beyond exact computation, naming each."""
    details = _value_details(invoice)
    if details:
        raise InvalidInvoice(f"The invoice holds values the gateway cannot process ({len(details)} problem(s)).", details)


def _value_details(invoice: Invoice) -> list[Detail]:
    details = []
    for pointer, value in _walk(invoice):
        if isinstance(value, str) and not xml_safe(value):
            details.append(Detail(pointer, "contains characters that XML cannot carry (control characters or lone surrogates)"))
        elif isinstance(value, Decimal) and (value.adjusted() >= MAX_INTEGER_DIGITS or -int(value.as_tuple().exponent) > MAX_FRACTION_DIGITS):
            details.append(Detail(pointer, f"numbers may have at most {MAX_INTEGER_DIGITS} integer and {MAX_FRACTION_DIGITS} decimal digits"))
    return details


def check_drawable(invoice: Invoice) -> None:
    """Refuse text the readable page has no font for, naming each field: a PDF must never silently lack a character."""
    details = [
        Detail(pointer, f"has characters no font of the PDF can show: {describe(missing)}")
        for pointer, value in _walk(invoice)
        if isinstance(value, str) and (missing := undrawable(value))
    ]
    if details:
        raise InvalidInvoice(f"The invoice holds characters its Factur-X PDF cannot show ({len(details)} field(s)).", details)


def resolve_profile(name: Any) -> Profile:
    """A profile from a user-given name (or a `Profile`); an unknown name is an input error."""
    if isinstance(name, Profile):
        return name
    try:
        return get_profile(name)
    except ValueError as exc:
        raise UnknownProfile(str(exc), "?profile") from None


# ---------------------------------------------------------------------------- generating and validating


def _completed(invoice: Invoice, report: Report) -> None:
    """Run `complete()` with room for exact products of the bounded values; its findings join the report."""
    with localcontext() as ctx:
        ctx.prec = 60
        report.extend("GATEWAY", complete(invoice))


def _validate_into(report: Report, xml: bytes) -> None:
    """Validate a document the gateway generated and merge its report."""
    _merge(report, validate(read_document(xml, XML_TYPE), french=True))


def _merge(report: Report, other: Report) -> None:
    for artefact in other.artefacts:
        if artefact not in report.artefacts:
            report.artefacts.append(artefact)
    report.findings.extend(other.findings)


def _generate(processed: Processed, facturx: bool) -> None:
    """Add the CII, UBL and Factur-X documents the input did not provide, validating each generated XML.

    No Factur-X is built for an invoice with a fatal finding: its PDF would claim a conformance level it
    does not have (the API serves none of a rejected invoice's generated documents)."""
    invoice, docs, profile = processed.invoice, processed.documents, processed.profile
    if "cii" not in docs:
        docs["cii"] = (write_cii(invoice, profile=profile.name), XML_TYPE)
        _validate_into(processed.report, docs["cii"][0])
    if "ubl" not in docs and processed.whole:
        docs["ubl"] = (write_ubl(invoice), XML_TYPE)
        _validate_into(processed.report, docs["ubl"][0])
    if facturx and "facturx" not in docs and processed.report.valid:
        check_drawable(invoice)
        docs["facturx"] = (build_facturx(invoice, docs["cii"][0], profile=profile.name, language="fr"), PDF_TYPE)
    docs["canonical"] = (to_json(invoice), JSON_TYPE)


def read_json(data: Any, profile: str | None = None, *, raw: bytes | None = None) -> Processed:
    """Decode intake JSON and complete its totals; `raw` (the request body) is kept as the input document."""
    prof = resolve_profile(profile)
    invoice = decode_json(data)
    metadata = check_metadata(data["metadata"]) if "metadata" in data else None
    report = Report(syntax="json", profile=prof.name)
    _completed(invoice, report)
    input_bytes = raw if raw is not None else json.dumps(data, ensure_ascii=False).encode()
    return Processed(invoice, prof, "json", report, {"input": (input_bytes, JSON_TYPE)}, metadata=metadata)


def _read_invoice(document: Document) -> Invoice:
    return read_cii(document.tree) if document.syntax == "cii" else read_ubl(document.tree)


def read_received(data: bytes, content_type: str | None) -> Processed:
    """Read a UBL, CII or Factur-X document, validate it as received and complete its canonical invoice's totals."""
    document = read_document(data, content_type)
    invoice = _read_invoice(document)
    check_values(invoice)
    is_pdf = document.container == "pdf"
    profile = resolve_profile(document.profile) if document.syntax == "cii" and document.profile else get_profile(None)
    syntax = "facturx" if is_pdf else document.syntax
    report = validate(document, french=True)
    report.syntax, report.profile = syntax, profile.name
    documents = {"input": (data, PDF_TYPE if is_pdf else XML_TYPE), "cii" if document.syntax == "cii" else "ubl": (document.xml, XML_TYPE)}
    if is_pdf:
        documents["facturx"] = (data, PDF_TYPE)
    _completed(invoice, report)
    return Processed(invoice, profile, syntax, report, documents, whole=document.syntax != "cii" or profile.is_en16931)


def validate_json(data: Any, profile: str | None = None) -> Report:
    """The merged report of the CII and UBL generated from intake JSON (nothing stored)."""
    processed = read_json(data, profile)
    _generate(processed, facturx=False)
    return processed.report


def validate_document(data: bytes, content_type: str | None, french: bool = True) -> Report:
    """The report of the official artefacts on a received document, as received (nothing stored)."""
    return validate(read_document(data, content_type), french=french)


# ---------------------------------------------------------------------------- storing


def siren_of(party: Party) -> str | None:
    """The party's SIREN: its legal registration (scheme 0002), else from a SIRET (0009) or a French VAT number."""
    legal = party.legal_registration_id
    if legal and (legal.scheme == "0002" or (legal.scheme is None and len(legal.value) == 9 and legal.value.isdigit())):
        return legal.value
    for ident in party.identifiers:
        if ident.scheme == "0009" and len(ident.value) == 14 and ident.value.isdigit():
            return ident.value[:9]
    vat = (party.vat_id or "").replace(" ", "")
    if len(vat) == 13 and vat.startswith("FR") and vat[4:].isdigit():
        return vat[4:]
    return None


def identifier_tokens(party: Party) -> str:
    """Every identifier of a party, each without spaces and in upper case, space-separated and padded (" A B "): the buyer filter's column.

    A schemed identifier is there bare and as scheme:value (0225:732829320, as Peppol writes it)."""
    tokens: list[str] = []
    siren = siren_of(party)
    given = [party.legal_registration_id, *party.identifiers, party.electronic_address]
    for value in [siren, party.vat_id, *(i.value for i in given if i), *(f"{i.scheme}:{i.value}" for i in given if i and i.scheme)]:
        token = "".join((value or "").split()).upper()
        if token and token not in tokens:
            tokens.append(token)
    return f" {' '.join(tokens)} " if tokens else " "


def payment_terms(invoice: Invoice) -> str | None:
    """BT-20 and the notes on discount terms (AAB), one per line: where an invoice states its early-payment discount."""
    texts = [invoice.payment_terms, *(note.text for note in invoice.notes if (note.subject_code or "").upper() == "AAB")]
    return "\n".join(text for text in texts if text) or None


def find_duplicate(session: Session, tenant: db.Tenant, seller_siren: str | None, number: str, issue_date: date) -> db.Invoice | None:
    """The accepted invoice with the same seller SIREN, number and year of issue, if any."""
    siren_match = db.Invoice.seller_siren.is_(None) if seller_siren is None else db.Invoice.seller_siren == seller_siren
    query = select(db.Invoice).where(
        db.Invoice.tenant_id == tenant.id,
        siren_match,
        db.Invoice.number == number,
        db.Invoice.issue_year == issue_date.year,
        db.Invoice.state != db.STATE_REJECTED,
    )
    return session.scalars(query).first()


def _refuse_duplicate(session: Session, tenant: db.Tenant, invoice: Invoice) -> None:
    existing = find_duplicate(session, tenant, siren_of(invoice.seller), invoice.number, invoice.issue_date)
    if existing is not None:
        raise DuplicateInvoice(
            f"Invoice {invoice.number!r} of {invoice.issue_date.year} from seller SIREN {existing.seller_siren or '(none)'} "
            f"already exists as invoice {existing.id}.",
            existing.id,
        )


def add_invoice(
    session: Session, archive: Archive, tenant: db.Tenant, processed: Processed, *, direction: str, state: str, status: tuple[str, str]
) -> db.Invoice:
    """Add the invoice row (outgoing or incoming, with its first state and status) and archive its documents (the caller commits).

    The row is flushed before anything is archived: a duplicate that a concurrent request stored first raises
    `IntegrityError` there, with nothing archived, for the caller to roll back.
    """
    invoice, report = processed.invoice, processed.report
    totals = invoice.totals
    row = db.Invoice(
        id=db.new_id(),
        tenant_id=tenant.id,
        direction=direction,
        number=invoice.number,
        issue_date=invoice.issue_date,
        issue_year=invoice.issue_date.year,
        type_code=invoice.type_code,
        currency=invoice.currency,
        seller_name=invoice.seller.name,
        seller_siren=siren_of(invoice.seller),
        buyer_name=invoice.buyer.name,
        buyer_siren=siren_of(invoice.buyer),
        buyer_vat_id=invoice.buyer.vat_id,
        buyer_identifiers=identifier_tokens(invoice.buyer),
        tax_exclusive_amount=totals.tax_exclusive_amount if totals else None,
        tax_amount=totals.tax_amount if totals else None,
        tax_inclusive_amount=totals.tax_inclusive_amount if totals else None,
        amount_due=totals.amount_due if totals else None,
        due_date=invoice.due_date,
        payment_terms=payment_terms(invoice),
        profile=processed.profile.name,
        syntax=processed.syntax,
        state=state,
        status=status[0],
        status_label=status[1],
        report=report.to_dict(),
        invoice_metadata=processed.metadata,
        erp_reference=erp_reference(processed.metadata),
    )
    session.add(row)
    session.flush()
    for kind, (data, content_type) in processed.documents.items():
        entry = archive.append(session, tenant_id=tenant.id, invoice_id=row.id, kind=kind, data=data)
        row.documents.append(db.Document(kind=kind, content_type=content_type, sha256=entry.content_sha256, size=entry.size))
    metrics.count_findings(row.report["findings"])
    return row


def store(session: Session, archive: Archive, tenant: db.Tenant, processed: Processed) -> db.Invoice:
    """Add the outgoing invoice row, its documents, its first status event and (valid invoices only) its outbox delivery to the
    session, and archive every byte (the caller commits).

    A duplicate that a concurrent request stored first is found at the first flush, before anything
    is archived: the session is then rolled back.
    """
    report = processed.report
    status, label = STATUS_DEPOSEE if report.valid else STATUS_REJECTED
    state = db.STATE_VALIDATED if report.valid else db.STATE_REJECTED
    try:
        row = add_invoice(session, archive, tenant, processed, direction="outgoing", state=state, status=(status, label))
    except IntegrityError:  # a concurrent request stored the same invoice between the check and the insert
        session.rollback()
        _refuse_duplicate(session, tenant, processed.invoice)
        raise
    event = db.StatusEvent(code=status, label=label, source=SOURCE, detail=_event_detail(report))
    row.events.append(event)
    session.flush()
    archive.append(session, tenant_id=tenant.id, invoice_id=row.id, kind="status", data=_event_bytes(row, event))
    if report.valid:  # the outbox row commits with the invoice: from the 2xx on, its delivery cannot be lost
        outbox.enqueue(session, row)
    webhooks.enqueue(session, row, "invoice.accepted" if report.valid else "invoice.rejected")  # commits with the invoice
    return row


def _event_detail(report: Report) -> dict[str, Any]:
    """The first event's detail: the verdict, and the id of the request that submitted the invoice (its jobs log it too)."""
    detail: dict[str, Any] = {"valid": report.valid, "fatal": report.fatal_count, "artefacts": report.artefacts}
    request_id = log_context.request_id()
    return {**detail, "request_id": request_id} if request_id else detail


def _event_bytes(row: db.Invoice, event: db.StatusEvent) -> bytes:
    """The archived form of a status event: canonical JSON (sorted keys), with the full validation report."""
    record = {
        "invoice": row.id,
        "code": event.code,
        "label": event.label,
        "time": event.time.isoformat(),
        "source": event.source,
        "report": row.report,
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


Signer = Callable[[bytes], bytes]
"""Signs a document: XAdES for XML, PAdES for PDF (see `gateway.signing.sign.configured_signer`)."""


def _sign(processed: Processed, signer: Signer | None) -> None:
    """Add signed copies of the UBL and the Factur-X of a valid invoice when the gateway has a signing key."""
    if signer is None or not processed.report.valid:
        return
    for kind in ("ubl", "facturx"):
        if kind in processed.documents:
            data, content_type = processed.documents[kind]
            processed.documents[f"{kind}-signed"] = (signer(data), content_type)


def _accept(session: Session, archive: Archive, tenant: db.Tenant, processed: Processed, signer: Signer | None) -> db.Invoice:
    """Refuse a duplicate before the costly part, then generate, validate and store."""
    _refuse_duplicate(session, tenant, processed.invoice)
    _generate(processed, facturx=True)
    _sign(processed, signer)
    return store(session, archive, tenant, processed)


def submit_json(
    session: Session,
    archive: Archive,
    tenant: db.Tenant,
    data: Any,
    profile: str | None = None,
    raw: bytes | None = None,
    signer: Signer | None = None,
    metadata: dict[str, Any] | None = None,
) -> db.Invoice:
    """Accept an intake JSON invoice for `tenant`; `raw` is the request body, kept as the input document.

    `metadata` (checked by the caller), when the body has none of its own."""
    processed = read_json(data, profile, raw=raw)
    if metadata is not None:
        processed.metadata = metadata
    return _accept(session, archive, tenant, processed, signer)


def submit_document(
    session: Session,
    archive: Archive,
    tenant: db.Tenant,
    data: bytes,
    content_type: str | None,
    signer: Signer | None = None,
    metadata: dict[str, Any] | None = None,
) -> db.Invoice:
    """Accept a UBL, CII or Factur-X document for `tenant`, with the ERP's `metadata` (checked by the caller)."""
    processed = read_received(data, content_type)
    processed.metadata = metadata
    return _accept(session, archive, tenant, processed, signer)
