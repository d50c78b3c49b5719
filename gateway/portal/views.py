"""The portal's pages, under /portal: sign-in, dashboard, invoices, invoice, operations.

Every page but sign-in needs a live session; every POST needs the session's CSRF token;
every query is scoped to the signed-in user's tenant (someone else's invoice is a 404,
exactly like one that does not exist).  Pages are HTML rendered here; the only script is
progressive enhancement.  Responses carry a strict Content-Security-Policy: everything
comes from the gateway itself.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, abort, current_app, flash, g, redirect, render_template, request, session, stream_with_context, url_for
from flask.blueprints import BlueprintSetupState
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from gateway.api.context import EXTENSION, archive, database, db_session
from gateway.api.invoices import DOCUMENT_FILES, document_response, withheld
from gateway.archive.models import ArchiveEntry
from gateway.archive.service import ArchiveError
from gateway.dunning import service as dunning
from gateway.jobs import outbox
from gateway.jobs.models import RETRYABLE_STATES, RETRYING, Delivery
from gateway.lifecycle import codes, parties, service
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.payments import effects
from gateway.portal import export, i18n, queries
from gateway.portal.auth import (
    ADMINISTER,
    MIN_PASSWORD_LENGTH,
    OPERATE,
    SECRET_FILE,
    AccountError,
    PortalSettings,
    authenticate,
    can,
    change_role,
    create_user,
    csrf_token,
    csrf_valid,
    end_all_sessions,
    session_user,
    set_disabled,
    start_session,
    users_of,
)
from gateway.portal.buyer import BuyerForm, read_buyer_form
from gateway.portal.charts import bar_chart
from gateway.portal.labels import (
    channel_name,
    delivery_label,
    direction_name,
    match_rule,
    party_role,
    payment_state,
    place_name,
    reminder_label,
    risk_finding,
    risk_level,
    role_name,
    routing_step,
    source_name,
    status_label,
    webhook_state,
)
from gateway.portal.models import ROLES, PortalUser
from gateway.portal.proofs import InvoiceEvidence, archive_entries, verify_invoice
from gateway.portal.terms import reason_name, term_name
from gateway.risk import service as risk
from gateway.secret_files import load_or_create_secret
from gateway.store import models as db
from gateway.texts import N_
from gateway.validation.grouping import group
from gateway.webhooks import sender
from gateway.webhooks.models import SENDING, STATES, WebhookDelivery

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates", static_folder="static")
log = logging.getLogger(__name__)

SETTINGS = "gateway.portal"
PUBLIC = {"portal.sign_in", "portal.static", "portal.language"}
DOCUMENT_KINDS = ("facturx", "facturx-signed", "ubl", "ubl-signed", "ubl-peppol", "cii", "input", "canonical")  # display order
WEBHOOKS_LISTED = 100
Row = TypeVar("Row", db.Invoice, Delivery, WebhookDelivery)  # the tenant-scoped rows a URL names by UUID
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
    i18n.install(app)


def settings() -> PortalSettings:
    return current_app.extensions[SETTINGS]


_ = i18n.gettext


def current_user() -> PortalUser:
    return g.user


# ---------------------------------------------------------------------------- request guards


def _local_target(target: str | None) -> str | None:
    """`target` when it is a portal path on this site (no open redirect), else None."""
    if target and target.startswith("/portal") and not target.startswith("//") and "\\" not in target and target.isprintable():
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
        "_": i18n.gettext,
        "ngettext": i18n.ngettext,
        "core_text": i18n.core_text,
        "lang": lang,
        "user": g.get("user"),
        "can_operate": g.get("user") is not None and can(g.user, OPERATE),
        "can_administer": g.get("user") is not None and can(g.user, ADMINISTER),
        "amount": lambda value, currency: i18n.format_amount(value, currency, lang),
        "number": lambda value, places=None: i18n.format_decimal(value, lang, places),
        "percent": lambda ratio: i18n.format_percent(ratio, lang),
        "day": lambda value, long=False: i18n.format_date(value, lang, long),
        "month": lambda value: i18n.format_month(value, lang),
        "day_month": lambda value: i18n.format_day_month(value, lang),
        "moment": lambda value, seconds=False: i18n.format_datetime(value, lang, zone, seconds),
        "size": lambda value: i18n.format_size(value, lang),
        "stored_amount": lambda text, currency: i18n.format_amount(Decimal(text), currency, lang),
        "stored_day": lambda text: i18n.format_date(date.fromisoformat(text), lang),
        "status_label": status_label,
        "risk_finding": risk_finding,
        "risk_level": risk_level,
        "term_name": lambda term: term_name(term, lang),
        "place_name": place_name,
        "reason_name": lambda code: reason_name(code, lang),
        "role_name": role_name,
        "party_role": party_role,
        "direction_name": direction_name,
        "channel_name": channel_name,
        "channels": queries.CHANNELS,
        "delivery_label": delivery_label,
        "source_name": source_name,
        "routing_step": routing_step,
        "webhook_state": webhook_state,
        "zone_name": settings().time_zone,
    }


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def _error(exc: HTTPException) -> tuple[str, int]:
    if not hasattr(g, "lang"):
        g.lang = i18n.DEFAULT_LANGUAGE
    return render_template("portal/error.html", code=exc.code, csrf=exc.description == "csrf"), exc.code or 500


def _unreadable(names: tuple[str, ...]) -> int:
    """The status of a page shown despite query parameters it could not read (and names): 400, else 200."""
    return 400 if names else 200


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
def dashboard() -> tuple[str, int]:
    period = queries.parse_period(request.args, g.zone)
    figures = queries.dashboard(db_session(), current_user().tenant_id, period)
    page = render_template(
        "portal/dashboard.html",
        period=period,
        figures=figures,
        chart=bar_chart(figures.buckets),
        presets=queries.PERIODS,
        first_day=queries.FIRST_DAY,
        last_day=queries.LAST_DAY,
    )
    return page, _unreadable(period.invalid)


# ---------------------------------------------------------------------------- invoices


@bp.get("/invoices")
def invoices() -> tuple[str, int]:
    flt = queries.parse_filter(request.args)
    rows, total = queries.invoice_page(db_session(), current_user().tenant_id, flt)
    pages = max(1, -(-total // queries.PER_PAGE))
    page = render_template(
        "portal/invoices.html",
        flt=flt,
        rows=rows,
        total=total,
        pages=pages,
        statuses=queries.statuses(db_session(), current_user().tenant_id),
        per_page=queries.PER_PAGE,
    )
    return page, _unreadable(flt.invalid)


def _streamed_invoices(tenant_id: int, flt: queries.InvoiceFilter) -> Iterator[db.Invoice]:
    """The export's rows, read in a session of its own, closed when the body ends or the client leaves: the request's
    session is closed at teardown, before a streamed body is read, and reusing it opened a transaction nobody closed."""
    with database().sessionmaker() as session:
        yield from queries.all_invoices(session, tenant_id, flt)


@bp.get("/invoices.csv")
def invoices_csv() -> Response | tuple[str, int]:
    """The filtered list as CSV: UTF-8 with a BOM; semicolons and decimal commas in French (what a French spreadsheet opens)."""
    flt = queries.parse_filter(request.args)
    if flt.invalid:
        message = _("Some filters could not be read: {names}. Correct them in the list, then export again.", names=", ".join(flt.invalid))
        return render_template("portal/error.html", code=400, message=message, back=url_for("portal.invoices")), 400
    lines = export.csv_lines(_streamed_invoices(current_user().tenant_id, flt), g.lang, g.zone)
    stamp = datetime.now(g.zone).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="invoices-{stamp}.csv"'}
    return Response(stream_with_context(lines), mimetype="text/csv", headers=headers)


def own(model: type[Row], row_id: str) -> Row:
    """The user's tenant's row of `model` with this UUID, or 404 (unknown, malformed or another tenant's: indistinguishable)."""
    row = db_session().get(model, row_id) if db.ID_PATTERN.match(row_id) else None
    if row is None or row.tenant_id != current_user().tenant_id:
        abort(404)
    return row


def own_invoice(invoice_id: str) -> db.Invoice:
    return own(db.Invoice, invoice_id)


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
    """The report's findings grouped by rule and place in the invoice, most severe first."""
    return group(report.get("findings", []), report.get("syntax"))


def _buyer_statuses(row: db.Invoice) -> list[codes.Status] | None:
    """The statuses the user may set now as the invoice's buyer: None when there is no form to show (not incoming, no right)."""
    if row.direction != "incoming" or not can(current_user(), OPERATE):
        return None
    return [] if row.state == db.STATE_REJECTED else parties.settable(row.direction, row.status)


def _render_invoice(row: db.Invoice, evidence: InvoiceEvidence | None = None, form: BuyerForm | None = None, code: int = 200) -> tuple[str, int]:
    documents = {d.kind: d for d in row.documents}
    checkpoint = archive().latest_checkpoint(db_session())
    settable = _buyer_statuses(row)
    page = render_template(
        "portal/invoice.html",
        row=row,
        invoice=_canonical(row),
        findings=_findings(row.report),
        documents=[documents[kind] for kind in DOCUMENT_KINDS if kind in documents and not withheld(row, kind)],
        entries=archive_entries(db_session(), row.tenant_id, row.id),
        checkpoint=checkpoint,
        timeline=service.timeline(db_session(), row),
        evidence=evidence,
        checks={check.entry["seq"]: check for check in evidence.entries} if evidence else {},
        deliveries=queries.deliveries_of(db_session(), row.tenant_id, row.id),
        retryable=RETRYABLE_STATES,
        settable=settable,
        form=form or BuyerForm(),
        form_reasons=sorted({reason for status in settable or () for reason in (status.reasons or ())}),
        payment=effects.position(db_session(), row) if effects.payable(row) else None,
        payment_state=payment_state,
        match_rule=match_rule,
        reminders=dunning.reminders_of(db_session(), row.id) if effects.payable(row) else None,
        reminder_label=reminder_label,
        risk=risk.assessment_of(db_session(), row.id) if row.direction == "incoming" else None,
    )
    return page, code


@bp.get("/invoices/<invoice_id>")
def invoice(invoice_id: str) -> tuple[str, int]:
    return _render_invoice(own_invoice(invoice_id))


@bp.post("/invoices/<invoice_id>/statuses")
@requires(OPERATE)
def set_status(invoice_id: str) -> Response | tuple[str, int]:
    """Set a status as the buyer of an incoming invoice, under the reform's rules (`service.record`, strict): errors come back in the form."""
    row = own_invoice(invoice_id)
    settable = _buyer_statuses(row)
    if settable is None:  # an outgoing invoice: the tenant is its seller, the buyer's statuses are not its own
        abort(403)
    form = read_buyer_form(request.form, row, settable, g.lang)
    if form.change is not None:
        try:
            parties.check_emitter(form.change, row.direction)
            service.record(
                db_session(), archive(), row, form.change, source=service.SOURCE_PORTAL, actor=f"portal:{current_user().email}", strict=True
            )
            db_session().commit()
        except (service.StatusRefused, service.IllegalTransition, service.NotInLifecycle, parties.NotYourStatus) as exc:
            db_session().rollback()
            log.info("status %s on invoice %s refused for portal user %s: %s", form.change.code, row.id, current_user().id, exc.message)
            form.refused(exc)
            row = own_invoice(invoice_id)
        else:
            log.info("status %s set on invoice %s by portal user %s", form.change.code, row.id, current_user().id)
            flash(_("Status {code} {label} recorded.", code=form.change.code, label=status_label(form.change.code)), "success")
            return redirect(url_for("portal.invoice", invoice_id=row.id) + "#timeline")
    return _render_invoice(row, form=form, code=422)


@bp.get("/invoices/<invoice_id>/verify")
def verify(invoice_id: str) -> tuple[str, int]:
    """Recompute this invoice's archive entries and inclusion proofs now (read-only: nothing changes)."""
    row = own_invoice(invoice_id)
    return _render_invoice(row, evidence=verify_invoice(db_session(), archive(), row.tenant_id, row.id))


@bp.get("/invoices/<invoice_id>/documents/<kind>")
def document(invoice_id: str, kind: str) -> Response:
    """The exact stored bytes; `?inline=1` shows a PDF in the page instead of downloading it."""
    row = own_invoice(invoice_id)
    if withheld(row, kind):  # a rejected invoice's generated documents would pass for conforming ones (as in the API)
        abort(409)
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
    delivery = own(Delivery, delivery_id)
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


# ---------------------------------------------------------------------------- webhook deliveries


@bp.get("/operations/webhooks")
@requires(OPERATE)
def webhooks() -> tuple[str, int]:
    """The tenant's latest webhook deliveries (the API's list), optionally in one state, with the invoices they are about."""
    state = request.args.get("state") if request.args.get("state") in STATES else None
    invalid = ("state",) if request.args.get("state") and state is None else ()
    rows = sender.deliveries(db_session(), current_user().tenant_id, state=state, limit=WEBHOOKS_LISTED)
    ids = {row.invoice_id for row in rows if row.invoice_id}
    numbers = {id_: number for id_, number in db_session().execute(select(db.Invoice.id, db.Invoice.number).where(db.Invoice.id.in_(ids)))}
    page = render_template("portal/webhooks.html", rows=rows, numbers=numbers, state=state, states=STATES, sending=SENDING, invalid=invalid)
    return page, _unreadable(invalid)


@bp.post("/operations/webhooks/<delivery_id>/replay")
@requires(OPERATE)
def replay_webhook(delivery_id: str) -> Response:
    """Send a webhook delivery again: the same bytes, freshly signed (`sender.replay`); another tenant's is a 404 like an unknown one."""
    delivery = own(WebhookDelivery, delivery_id)
    try:
        sender.replay(db_session(), delivery)
        db_session().commit()
        log.info("webhook delivery %s replayed by portal user %s", delivery.id, current_user().id)
        flash(_("The {event} notification will be sent again shortly.", event=delivery.event), "success")
    except sender.InFlight:
        db_session().rollback()
        flash(_("This notification is being sent right now: nothing was changed."), "error")
    return redirect(_local_target(request.form.get("next")) or url_for("portal.webhooks"))


# ---------------------------------------------------------------------------- users (administrators)


_ACCOUNT_ERRORS = {
    "email": N_("Enter a valid e-mail address."),
    "role": N_("Choose a role."),
    "password": N_("The initial password needs {min} characters or more."),
    "taken": N_("An account with this e-mail address already exists."),
    "yourself": N_("You cannot change your own role or disable your own account."),
}


def _render_users(values: dict[str, str] | None = None, error: AccountError | None = None, code: int = 200) -> tuple[str, int]:
    page = render_template(
        "portal/users.html",
        users=users_of(db_session(), current_user().tenant),
        roles=ROLES,
        min_password=MIN_PASSWORD_LENGTH,
        values=values or {},
        error_field=error.reason if error else None,
        error=_(_ACCOUNT_ERRORS[error.reason], min=MIN_PASSWORD_LENGTH) if error else None,
    )
    return page, code


@bp.get("/users")
@requires(ADMINISTER)
def users() -> tuple[str, int]:
    return _render_users()


@bp.post("/users")
@requires(ADMINISTER)
def create_account() -> Response | tuple[str, int]:
    """Create an account of the administrator's tenant with its initial password (told to the person out of band)."""
    values = {"email": request.form.get("email", "").strip(), "role": request.form.get("role", "")}
    try:
        user = create_user(db_session(), current_user().tenant, values["email"], values["role"], request.form.get("password", ""))
        db_session().commit()
    except AccountError as exc:
        db_session().rollback()
        return _render_users(values, exc, 422)
    log.info("portal user %s (%s) created by portal user %s", user.id, user.role, current_user().id)
    flash(_("Account {email} created as {role}.", email=user.email, role=role_name(user.role)), "success")
    return redirect(url_for("portal.users"))


@bp.post("/users/<int:user_id>")
@requires(ADMINISTER)
def change_account(user_id: int) -> Response | tuple[str, int]:
    """Change an account's role, or disable it (its sessions end at once) or enable it again."""
    user = db_session().get(PortalUser, user_id)
    if user is None or user.tenant_id != current_user().tenant_id:
        abort(404)
    action = request.form.get("action")
    try:
        if action == "role":
            change_role(user, request.form.get("role", ""), current_user())
            message = _("{email} is now {role}.", email=user.email, role=role_name(user.role))
        elif action == "disable":
            set_disabled(user, True, current_user())
            message = _("{email} is disabled: their sessions have ended.", email=user.email)
        elif action == "enable":
            set_disabled(user, False, current_user())
            message = _("{email} may sign in again.", email=user.email)
        else:
            abort(400)
        db_session().commit()
    except AccountError as exc:
        db_session().rollback()
        return _render_users(error=exc, code=422)
    log.info("portal user %s: %s by portal user %s", user.id, action, current_user().id)
    flash(message, "success")
    return redirect(url_for("portal.users"))


from gateway.portal import payments as _payments  # noqa: E402, F401  (its routes join this blueprint)
from gateway.portal import receivables as _receivables  # noqa: E402, F401
from gateway.portal import recurring as _recurring  # noqa: E402, F401
from gateway.portal import reminders as _reminders  # noqa: E402, F401
