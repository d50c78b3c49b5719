"""The portal's pages, under /portal: sign-in, dashboard, invoices, invoice, operations.

Every page but sign-in needs a live session; every POST needs the session's CSRF token;
every query is scoped to the signed-in user's tenant (someone else's invoice is a 404,
exactly like one that does not exist).  Pages are HTML rendered here; the only script is
progressive enhancement.  Responses carry a strict Content-Security-Policy: everything
comes from the gateway itself.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, abort, current_app, flash, g, redirect, render_template, request, session, stream_with_context, url_for
from flask.blueprints import BlueprintSetupState
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from gateway.api.context import EXTENSION, archive, database, db_session
from gateway.api.invoices import DOCUMENT_FILES, document_response
from gateway.archive.models import ArchiveEntry
from gateway.archive.service import ArchiveError
from gateway.jobs import outbox
from gateway.jobs.models import RETRYABLE_STATES, RETRYING, Delivery
from gateway.lifecycle import codes
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.portal import i18n, queries
from gateway.portal.auth import (
    OPERATE,
    SECRET_FILE,
    PortalSettings,
    authenticate,
    can,
    csrf_token,
    csrf_valid,
    end_all_sessions,
    load_or_create_secret,
    session_user,
    start_session,
)
from gateway.portal.charts import bar_chart
from gateway.portal.i18n import N_
from gateway.portal.models import PortalUser
from gateway.portal.proofs import InvoiceEvidence, archive_entries, verify_invoice
from gateway.portal.terms import term_name
from gateway.store import models as db

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates", static_folder="static")
log = logging.getLogger(__name__)

SETTINGS = "gateway.portal"
PUBLIC = {"portal.sign_in", "portal.static", "portal.language"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DOCUMENT_KINDS = ("facturx", "facturx-signed", "ubl", "ubl-signed", "cii", "input", "canonical")  # display order
SEVERITY_ORDER = {"fatal": 0, "warning": 1, "information": 2}
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'self'; frame-src 'self'; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    """Session cookie and secret (shared by every process through the data folder), settings, and / leading to the portal."""
    app: Flask = state.app
    config = app.extensions[EXTENSION].config
    settings = PortalSettings.from_config(config)
    app.extensions[SETTINGS] = settings
    if not app.secret_key:
        app.secret_key = load_or_create_secret(Path(settings.secret_file) if settings.secret_file else config.data_dir / SECRET_FILE)
    app.config.update(
        SESSION_COOKIE_NAME="gateway_portal",
        SESSION_COOKIE_PATH="/portal",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
    )
    app.add_url_rule("/", "portal_home", lambda: redirect(url_for("portal.dashboard")))


def settings() -> PortalSettings:
    return current_app.extensions[SETTINGS]


def _(message: str, /, **values: object) -> str:
    return i18n.gettext(g.lang, message, **values)


def _n(singular: str, plural: str, n: int, /, **values: object) -> str:
    return i18n.ngettext(g.lang, singular, plural, n, **values)


def current_user() -> PortalUser:
    return g.user


# ---------------------------------------------------------------------------- request guards


def _local_target(target: str | None) -> str | None:
    """`target` when it is a portal path on this site (no open redirect), else None."""
    if target and target.startswith("/portal") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.before_request
def _guard() -> Response | None:
    lang = session.get("lang")
    g.lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    g.zone = ZoneInfo(settings().time_zone)
    if request.method == "POST" and not csrf_valid(session, request.form.get("csrf_token")):
        abort(400, description="csrf")
    if request.endpoint in PUBLIC:
        return None
    user = session_user(db_session(), session, settings())
    if user is None:
        expired = "uid" in session
        session.clear()
        session["lang"] = g.lang
        if expired:
            flash(_("Your session has ended. Please sign in again."), "info")
        return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    session["seen"] = time.time()
    g.user = user
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "portal.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def requires(permission: str):
    """Refuse (403) a view to users whose role lacks `permission`."""

    def decorate(view):
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any):
            if not can(current_user(), permission):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


@bp.app_template_global()
def portal_csrf_token() -> str:
    return csrf_token(session)


@bp.context_processor
def _template_context() -> dict[str, Any]:
    lang = g.get("lang", i18n.DEFAULT_LANGUAGE)
    zone = g.get("zone") or ZoneInfo(settings().time_zone)
    return {
        "_": _,
        "_n": _n,
        "lang": lang,
        "user": g.get("user"),
        "can_operate": g.get("user") is not None and can(g.user, OPERATE),
        "amount": lambda value, currency: i18n.format_amount(value, currency, lang),
        "number": lambda value, places=None: i18n.format_decimal(value, lang, places),
        "percent": lambda ratio: i18n.format_percent(ratio, lang),
        "day": lambda value, long=False: i18n.format_date(value, lang, long),
        "month": lambda value: i18n.format_month(value, lang),
        "day_month": lambda value: i18n.format_day_month(value, lang),
        "moment": lambda value, seconds=False: i18n.format_datetime(value, lang, zone, seconds),
        "size": lambda value: i18n.format_size(value, lang),
        "status_label": status_label,
        "term_name": lambda term: term_name(term, lang),
        "role_name": role_name,
        "party_role": party_role,
        "direction_name": direction_name,
        "delivery_label": delivery_label,
        "zone_name": settings().time_zone,
    }


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def _error(exc: HTTPException) -> tuple[str, int]:
    if not hasattr(g, "lang"):
        g.lang = i18n.DEFAULT_LANGUAGE
    return render_template("portal/error.html", code=exc.code, csrf=exc.description == "csrf"), exc.code or 500


# ---------------------------------------------------------------------------- labels


def status_label(code: str, stored: str | None = None) -> str:
    """A lifecycle status in the reader's language: the reform's label, the intake's rejection, or the stored label."""
    known = codes.STATUSES.get(code)
    if known is not None:
        return known.label if g.lang == "fr" else known.label_en
    if code == db.STATUS_REJECTED:
        return _("Rejected at intake checks")
    return stored or code


def role_name(role: str) -> str:
    """A portal role in the reader's language."""
    return {"administrator": _("Administrator"), "compliance-officer": _("Compliance officer"), "operator": _("Operator")}.get(role, role)


def party_role(code: str) -> str:
    """Who emitted a status (UNCL 3035 role of the CDAR message) in the reader's language."""
    names = {
        codes.SELLER: _("seller"),
        codes.BUYER: _("buyer"),
        codes.PLATFORM: _("platform"),
        codes.PPF: _("public platform (PPF)"),
        codes.FACTOR: _("factor"),
    }
    return names.get(code, code)


def delivery_label(code: str | None) -> str:
    """A delivery state or attempt outcome in the reader's language (the two vocabularies share their words)."""
    names = {
        "pending": _("waiting"),
        "sending": _("being sent"),
        "sent": _("sent"),
        "failed-retrying": _("failing, will retry"),
        "dead": _("dead letter"),
        "unroutable": _("unroutable"),
        "rejected": _("rejected by the network"),
        "failed": _("failed"),
        "interrupted": _("interrupted"),
        "gave-up": _("gave up"),
    }
    return names.get(code or "", code or _("in progress"))


def direction_name(direction: str) -> str:
    return {"outgoing": _("Outgoing"), "incoming": _("Incoming")}.get(direction, direction)


# ---------------------------------------------------------------------------- sign-in, sign-out, language


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | str:
    target = _local_target(request.values.get("next"))
    error = None
    if request.method == "POST":
        user = authenticate(db_session(), request.form.get("email", ""), request.form.get("password", ""))
        db_session().commit()  # the failure count, the lockout, the time of sign-in
        if user is not None:
            lang = g.lang
            session.clear()
            start_session(session, user)
            session["lang"] = lang
            return redirect(target or url_for("portal.dashboard"))
        error = _("The e-mail address or the password is not correct, or the account is locked for a few minutes after repeated failures.")
    return render_template("portal/sign_in.html", error=error, target=target)


@bp.post("/sign-out")
def sign_out() -> Response:
    end_all_sessions(current_user())
    db_session().commit()
    lang = g.lang
    session.clear()
    session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("portal.sign_in"))


@bp.get("/language/<any(fr, en):lang>")
def language(lang: str) -> Response:
    """Switch the language (a preference, kept in the session cookie) and go back where the reader was."""
    session["lang"] = lang
    return redirect(_local_target(request.args.get("next")) or url_for("portal.dashboard"))


# ---------------------------------------------------------------------------- dashboard


@bp.get("/")
def dashboard() -> str:
    period = queries.parse_period(request.args, g.zone)
    figures = queries.dashboard(db_session(), current_user().tenant_id, period)
    return render_template("portal/dashboard.html", period=period, figures=figures, chart=bar_chart(figures.buckets), presets=queries.PERIODS)


# ---------------------------------------------------------------------------- invoices


@bp.get("/invoices")
def invoices() -> str:
    flt = queries.parse_filter(request.args)
    rows, total = queries.invoice_page(db_session(), current_user().tenant_id, flt)
    pages = max(1, -(-total // queries.PER_PAGE))
    return render_template(
        "portal/invoices.html",
        flt=flt,
        rows=rows,
        total=total,
        pages=pages,
        statuses=queries.statuses(db_session(), current_user().tenant_id),
        per_page=queries.PER_PAGE,
    )


_CSV_COLUMNS = (
    (N_("Number"), lambda r, f: r.number),
    (N_("Type"), lambda r, f: r.type_code),
    (N_("Direction"), lambda r, f: direction_name(r.direction)),
    (N_("Issue date"), lambda r, f: r.issue_date.isoformat()),
    (N_("Seller"), lambda r, f: r.seller_name),
    (N_("Seller SIREN"), lambda r, f: r.seller_siren or ""),
    (N_("Buyer"), lambda r, f: r.buyer_name),
    (N_("Buyer SIREN"), lambda r, f: r.buyer_siren or ""),
    (N_("Currency"), lambda r, f: r.currency),
    (N_("Total without VAT"), lambda r, f: f(r.tax_exclusive_amount)),
    (N_("VAT"), lambda r, f: f(r.tax_amount)),
    (N_("Total with VAT"), lambda r, f: f(r.tax_inclusive_amount)),
    (N_("Amount due"), lambda r, f: f(r.amount_due)),
    (N_("Status"), lambda r, f: r.status),
    (N_("Status label"), lambda r, f: status_label(r.status, r.status_label)),
    (N_("Received"), lambda r, f: r.created_at.astimezone(UTC).isoformat()),
    (N_("Identifier"), lambda r, f: r.id),
)


def _csv_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in text that came from invoices (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.get("/invoices.csv")
def invoices_csv() -> Response:
    """The filtered list as CSV: UTF-8 with a BOM; semicolons and decimal commas in French (what a French spreadsheet opens)."""
    flt = queries.parse_filter(request.args)
    tenant_id, lang = current_user().tenant_id, g.lang
    delimiter = ";" if lang == "fr" else ","

    def amount(value: Any) -> str:
        return "" if value is None else (str(value).replace(".", ",") if lang == "fr" else str(value))

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([_(name) for name, _cell in _CSV_COLUMNS])
        yield "\ufeff" + buffer.getvalue()
        for row in queries.all_invoices(db_session(), tenant_id, flt):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_csv_cell(cell(row, amount)) for _name, cell in _CSV_COLUMNS])
            yield buffer.getvalue()

    stamp = datetime.now(g.zone).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="invoices-{stamp}.csv"'}
    return Response(stream_with_context(lines()), mimetype="text/csv", headers=headers)


def own_invoice(invoice_id: str) -> db.Invoice:
    """The user's tenant's invoice, or 404 (unknown, malformed or another tenant's: indistinguishable)."""
    row = db_session().get(db.Invoice, invoice_id) if UUID.match(invoice_id) else None
    if row is None or row.tenant_id != current_user().tenant_id:
        abort(404)
    return row


def _canonical(row: db.Invoice) -> Invoice | None:
    """The canonical invoice stored with the row (lines, VAT breakdown, references), None if unreadable."""
    document = next((d for d in row.documents if d.kind == "canonical"), None)
    if document is None:
        return None
    try:
        return invoice_from_json(json.loads(database().blobs.get(document.sha256)))
    except Exception:  # a damaged copy must not hide the rest of the page; the archive check names it
        log.exception("canonical document of invoice %s unreadable", row.id)
        return None


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(
        report.get("findings", []), key=lambda f: (SEVERITY_ORDER.get(f.get("severity"), 3), f.get("rule_id") or "", f.get("artefact") or "")
    )


def _render_invoice(row: db.Invoice, evidence: InvoiceEvidence | None = None) -> str:
    documents = {d.kind: d for d in row.documents}
    checkpoint = archive().latest_checkpoint(db_session())
    return render_template(
        "portal/invoice.html",
        row=row,
        invoice=_canonical(row),
        findings=_findings(row.report),
        documents=[documents[kind] for kind in DOCUMENT_KINDS if kind in documents],
        entries=archive_entries(db_session(), row.tenant_id, row.id),
        checkpoint=checkpoint,
        reasons=codes.REASONS,
        evidence=evidence,
        checks={check.entry["seq"]: check for check in evidence.entries} if evidence else {},
        deliveries=queries.deliveries_of(db_session(), row.tenant_id, row.id),
        retryable=RETRYABLE_STATES,
    )


@bp.get("/invoices/<invoice_id>")
def invoice(invoice_id: str) -> str:
    return _render_invoice(own_invoice(invoice_id))


@bp.get("/invoices/<invoice_id>/verify")
def verify(invoice_id: str) -> str:
    """Recompute this invoice's archive entries and inclusion proofs now (read-only: nothing changes)."""
    row = own_invoice(invoice_id)
    return _render_invoice(row, evidence=verify_invoice(db_session(), archive(), row.tenant_id, row.id))


@bp.get("/invoices/<invoice_id>/documents/<kind>")
def document(invoice_id: str, kind: str) -> Response:
    """The exact stored bytes; `?inline=1` shows a PDF in the page instead of downloading it."""
    row = own_invoice(invoice_id)
    response = document_response(row, kind, inline=bool(request.args.get("inline"))) if kind in DOCUMENT_FILES else None
    if response is None:
        abort(404)
    return response


@bp.get("/invoices/<invoice_id>/proofs/<int:seq>.json")
def proof(invoice_id: str, seq: int) -> Response:
    """The inclusion proof of one of the invoice's entries, for `verifier.py proof` (format pdp-gateway-archive-proof/1)."""
    row = own_invoice(invoice_id)
    found = next((c for c in verify_invoice(db_session(), archive(), row.tenant_id, row.id).entries if c.entry["seq"] == seq), None)
    if found is None or found.proof is None:
        abort(404)
    headers = {"Content-Disposition": f'attachment; filename="proof-{seq}.json"'}
    return Response(json.dumps(found.proof, indent=1) + "\n", mimetype="application/json", headers=headers)


# ---------------------------------------------------------------------------- operations


@bp.get("/operations")
@requires(OPERATE)
def operations() -> str:
    session_ = db_session()
    head_seq, _head = archive().head(session_)
    return render_template(
        "portal/operations.html",
        rejected=queries.rejected_recently(session_, current_user().tenant_id),
        checkpoint=archive().latest_checkpoint(session_),
        head_seq=head_seq,
        tenant_entries=session_.scalar(select(func.count()).select_from(ArchiveEntry).where(ArchiveEntry.tenant_id == current_user().tenant_id)),
        dead=queries.deliveries_in(session_, current_user().tenant_id, RETRYABLE_STATES),
        failing=queries.deliveries_in(session_, current_user().tenant_id, (RETRYING,)),
        directory=queries.directory(session_, current_user().tenant_id),
    )


@bp.post("/operations/deliveries/<delivery_id>/retry")
@requires(OPERATE)
def retry_delivery(delivery_id: str) -> Response:
    """Send a dead or unroutable delivery again (due now, fresh attempt budget); another tenant's delivery is a 404 like an unknown one."""
    delivery = db_session().get(Delivery, delivery_id) if UUID.match(delivery_id) else None
    if delivery is None or delivery.tenant_id != current_user().tenant_id:
        abort(404)
    try:
        outbox.retry(db_session(), delivery)
        db_session().commit()
        log.info("delivery %s retried by portal user %s", delivery.id, current_user().id)
        flash(_("The delivery of invoice {number} will be sent again shortly.", number=delivery.invoice.number), "success")
    except outbox.NotRetryable:
        db_session().rollback()
        flash(_("This delivery is not in the dead-letter queue any more: nothing was changed."), "error")
    return redirect(_local_target(request.form.get("next")) or url_for("portal.operations") + "#dead-letter")


@bp.post("/operations/checkpoint")
@requires(OPERATE)
def checkpoint() -> Response:
    """Sign the archive's head now, so the newest documents get inclusion proofs without waiting for the scheduler."""
    try:
        made = archive().checkpoint(db_session())
        db_session().commit()
        flash(_("Checkpoint {id} signed: entries 1 to {size}.", id=made.id, size=made.tree_size), "success")
    except ArchiveError as exc:
        db_session().rollback()
        log.error("checkpoint refused: %s", exc)
        flash(_("The checkpoint could not be signed: {reason}", reason=str(exc)), "error")
    return redirect(_local_target(request.form.get("next")) or url_for("portal.operations"))
