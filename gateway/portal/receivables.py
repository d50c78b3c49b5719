"""The portal's receivables page: the headline KPIs, the aging and the 13-week forecast as charts (inline SVG, with the
same figures as tables), dunning effectiveness and the buyers' risk scores with their factors.  `?as_of=` and
`?currency=` choose the day and the currency; a value that cannot be read falls back to today / EUR and says so."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from flask import g, render_template, request

from gateway.api.context import db_session
from gateway.portal import i18n
from gateway.portal.charts import amount_chart
from gateway.portal.views import bp, current_user
from gateway.receivables import kpis, service

CURRENCY = re.compile(r"[A-Z]{3}\Z")
BUCKET_TONES = {"not_due": "ok", "1-30": "warn", "31-60": "late", "61-90": "later", "90+": "latest"}


def _day(text: str | None, today: date) -> tuple[date, bool]:
    try:
        return (date.fromisoformat(text), True) if text and len(text) == 10 else (today, not text)
    except ValueError:
        return today, False


@bp.get("/receivables")
def receivables() -> str:
    today = datetime.now(g.zone).date()
    as_of, day_ok = _day(request.args.get("as_of"), today)
    asked = request.args.get("currency") or "EUR"
    currency = asked if CURRENCY.match(asked) else "EUR"
    snap = service.snapshot(db_session(), current_user().tenant_id, as_of, currency)
    buyers, overall = kpis.aging(snap.items, as_of)
    cash = service.cash_forecast(snap)
    return render_template(
        "portal/receivables.html",
        snap=snap, overall=overall, buyers=buyers, buckets=kpis.BUCKETS, tones=BUCKET_TONES,
        dso=kpis.dso(snap.items, as_of), rates=kpis.rates(snap.items, as_of), dunning=kpis.dunning_effectiveness(snap.items, as_of),
        forecast=cash, risks=service.buyer_risks(snap),
        aging_chart=amount_chart([(b, overall.buckets[b], None, None, BUCKET_TONES[b]) for b in kpis.BUCKETS]),
        forecast_chart=amount_chart([(w.start.isoformat(), w.expected, *w.interval, "") for w in cash.weeks]),
        unreadable=[name for name, ok in (("as_of", day_ok), ("currency", currency == asked)) if not ok],
        ratio=lambda part, whole: (Decimal(part) / Decimal(whole)) if whole else Decimal(0),
        week_label=lambda text: i18n.format_day_month(date.fromisoformat(text), g.lang),
    )  # fmt: skip
