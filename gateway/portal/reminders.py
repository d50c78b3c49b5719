"""The portal's dunning pages: a reminder's letter (PDF) as archived; the reminders themselves show on the invoice page."""

from __future__ import annotations

from flask import Response, abort

from gateway.api.context import archive, db_session
from gateway.dunning.models import Reminder
from gateway.portal.views import bp, own_invoice
from gateway.store.models import ID_PATTERN


@bp.get("/invoices/<invoice_id>/reminders/<reminder_id>/letter")
def reminder_letter(invoice_id: str, reminder_id: str) -> Response:
    row = own_invoice(invoice_id)
    reminder = db_session().get(Reminder, reminder_id) if ID_PATTERN.match(reminder_id) else None
    data = archive().read(reminder.letter_sha256) if reminder and reminder.invoice_id == row.id and reminder.letter_sha256 else None
    if data is None:
        abort(404)
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{reminder.tier}-{row.number}.pdf"'})
