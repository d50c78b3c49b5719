"""The portal's payments pages: upload bank statements, the review queue, a person's decisions on a line.

Everyone signed in sees the queue and what was matched; deciding and uploading need the operate permission.  The
decisions are the payments domain's (`gateway.payments.review`): the same as the API's, never overridden by a later
automatic run.  Its messages are the core's, shown in the reader's language.
"""

from __future__ import annotations

import logging

from flask import Response, abort, flash, redirect, render_template, request, url_for

from gateway.api.context import archive, database, db_session
from gateway.errors import InputError
from gateway.payments import models as pm
from gateway.payments import review, service
from gateway.portal import i18n
from gateway.portal.auth import OPERATE
from gateway.portal.labels import match_evidence, match_rule
from gateway.portal.views import bp, current_user, requires

log = logging.getLogger(__name__)
_ = i18n.gettext


@bp.get("/payments")
def payments() -> str:
    session = db_session()
    tenant_id = current_user().tenant_id
    return render_template(
        "portal/payments.html",
        queue=review.queue(session, tenant_id),
        waiting=review.waiting(session, tenant_id),
        recent=review.recent(session, tenant_id),
        dismissed=review.dismissed(session, tenant_id),
        match_rule=match_rule,
        match_evidence=match_evidence,
    )


@bp.post("/payments/statements")
@requires(OPERATE)
def upload_statement() -> Response:
    """Import one statement file (camt.053, camt.054 or MT940): all of it or, when malformed, nothing."""
    upload = request.files.get("statement")
    data = upload.read(service.MAX_STATEMENT_BYTES + 1) if upload else b""
    if not data:
        flash(_("Choose a statement file to import."), "error")
    elif len(data) > service.MAX_STATEMENT_BYTES:
        flash(_("A statement file is at most 50 MB."), "error")
    else:
        try:
            result = service.import_file(database(), archive(), current_user().tenant_id, data)
        except InputError as exc:
            flash(_("{name} was not imported: {reason}", name=upload.filename or "", reason=i18n.core_text(exc.message)), "error")
        else:
            matched = sum(1 for line in result.new_lines if line.state in (pm.MATCHED, pm.DECIDED))
            to_review = sum(1 for line in result.new_lines if line.state == pm.REVIEW)
            log.info("statement imported by portal user %s: %d new line(s)", current_user().id, len(result.new_lines))
            flash(
                _(
                    "{name}: {new} new line(s), {matched} matched, {review} to review, {known} already imported.",
                    name=upload.filename or "",
                    new=len(result.new_lines),
                    matched=matched,
                    review=to_review,
                    known=result.skipped,
                ),
                "success",
            )
    return redirect(url_for("portal.payments"))


@bp.post("/payments/lines/<int:line_id>")
@requires(OPERATE)
def decide(line_id: int) -> Response:
    """Confirm (one invoice, a candidate's invoices, or a split over several), reject a candidate, dismiss the line, or undo."""
    session = db_session()
    line = session.get(pm.BankLine, line_id) if 0 < line_id <= 2**31 - 1 else None
    if line is None or line.tenant_id != current_user().tenant_id:
        abort(404)
    actor = f"portal:{current_user().email}"
    action = request.form.get("action")
    try:
        if action == "confirm":
            typed = review.open_invoice_ids(session, line.tenant_id, review.typed_numbers(request.form.get("numbers", "")))
            ids = request.form.getlist("invoice") + typed
            review.confirm(session, archive(), line, list(dict.fromkeys(ids)), actor=actor)
            message = _("Bank line {line} confirmed: the invoices it pays are updated.", line=line.id)
        elif action == "reject":
            rejected = request.form.getlist("invoice")
            if not rejected:
                abort(400)
            for invoice_id in rejected:
                review.reject(session, line, invoice_id, actor=actor)
            message = _("Candidate rejected for bank line {line}: it will not be proposed again.", line=line.id)
        elif action == "dismiss":
            review.dismiss(session, line, request.form.get("reason", ""), actor=actor)
            message = _("Bank line {line} is set aside: it pays no invoice.", line=line.id)
        elif action == "undo":
            was_dismissed = line.state == pm.DISMISSED
            review.undo(session, archive(), line, actor=actor)
            message = (
                _("Bank line {line} is back in the review queue.", line=line.id)
                if was_dismissed
                else _("The match of bank line {line} is undone: its invoices are due again.", line=line.id)
            )
        else:
            abort(400)
        session.commit()
    except review.DecisionRefused as refused:
        session.rollback()
        flash(i18n.core_text(refused.message), "error")
        return redirect(url_for("portal.payments") + f"#line-{line_id}")
    log.info("bank line %s: %s by portal user %s", line_id, action, current_user().id)
    flash(message, "success")
    return redirect(url_for("portal.payments") + {"undo": f"#line-{line_id}", "dismiss": "#dismissed"}.get(action or "", "#matched"))
