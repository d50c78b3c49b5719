"""The portal's recurring-invoices page: the tenant's schedules, their occurrences by state and the next one, and the
occurrences that failed, with why (they are retried by the next runs).  Read-only: schedules are made through the API."""

from __future__ import annotations

from datetime import datetime

from flask import g, render_template

from gateway.api.context import db_session
from gateway.portal.views import bp, current_user
from gateway.recurring import service


@bp.get("/recurring")
def recurring() -> str:
    tenant_id, today = current_user().tenant_id, datetime.now(g.zone).date()
    return render_template(
        "portal/recurring.html", schedules=service.overview(db_session(), tenant_id, today), failures=service.failures(db_session(), tenant_id)
    )
