"""The forecast's and the KPIs' rules on ledgers written by hand (pure functions, no database): where an invoice's cash
lands, what a new buyer borrows, what is doubtful, and the count-back DSO's edge cases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from gateway.receivables.behaviour import OWN, PORTFOLIO, TERMS, learn
from gateway.receivables.forecast import WEEKS, forecast
from gateway.receivables.kpis import DSO_MONTHS, dso
from gateway.receivables.ledger import Item

DAY = date(2026, 9, 1)


def _paid(buyer: str, due: date, late: int, total: str = "100.00") -> Item:
    return Item(f"{buyer}-{due}", "N", buyer, buyer, due - timedelta(days=30), due, Decimal(total), ((due + timedelta(days=late), Decimal(total)),))


def _open(buyer: str, due: date, total: str = "1000.00", **changes) -> Item:
    return Item(f"{buyer}-open-{due}", "N", buyer, buyer, due - timedelta(days=30), due, Decimal(total), **changes)


def test_a_regular_payer_is_expected_in_one_week_with_no_spread():
    history = [_paid("A", DAY - timedelta(days=30 * k), 10) for k in range(1, 6)]
    result = forecast([*history, _open("A", DAY + timedelta(days=4))], DAY)
    weeks = [w for w in result.weeks if w.expected]
    assert [(w.start, w.expected, w.interval) for w in weeks] == [(DAY + timedelta(days=8), Decimal("1000.00"), (Decimal("1000.00"),) * 2)]
    assert result.sources == {OWN: 1}


def test_an_uncertain_payer_spreads_its_cash_and_widens_the_interval():
    history = [_paid("B", DAY - timedelta(days=30 * k), late) for k, late in enumerate((0, 7, 14, 21), start=1)]
    result = forecast([*history, _open("B", DAY + timedelta(days=1))], DAY)
    expected = [w.expected for w in result.weeks[:4]]
    assert expected == [Decimal("250.00")] * 4
    low, high = result.weeks[0].interval
    assert low == 0 and high > Decimal("250.00")


def test_an_invoice_later_than_its_buyer_ever_was_is_doubtful_and_a_dispute_waits():
    history = [_paid("C", DAY - timedelta(days=30 * k), 5) for k in range(2, 6)]
    late = _open("C", DAY - timedelta(days=20), "300.00")
    disputed = _open("C", DAY - timedelta(days=1), "50.00", disputed=DAY - timedelta(days=2))
    result = forecast([*history, late, disputed], DAY)
    assert (result.doubtful, result.disputed, sum(w.expected for w in result.weeks)) == (Decimal("300.00"), Decimal("50.00"), 0)


def test_a_new_buyer_borrows_the_portfolio_and_an_empty_ledger_the_terms():
    history = [_paid("D", DAY - timedelta(days=30 * k), 70) for k in range(3, 7)]
    new = _open("E", DAY + timedelta(days=2))
    behaviours = learn([*history, new], DAY)
    assert (behaviours["E"].source, behaviours["E"].median) == (PORTFOLIO, 70)
    result = forecast([*history, new], DAY, behaviours)
    assert result.weeks[10].expected == Decimal("1000.00")  # due + 70 days = DAY + 72: in week 10 (days 71 to 77 after DAY)
    assert learn([new], DAY)["E"].source == TERMS
    assert forecast([new], DAY).weeks[0].expected == Decimal("1000.00")  # taken at its word: on its due date


def test_beyond_the_horizon_is_kept_apart():
    history = [_paid("F", DAY - timedelta(days=200 * k), 120) for k in range(1, 4)]
    result = forecast([*history, _open("F", DAY)], DAY)
    assert result.beyond == Decimal("1000.00") and len(result.weeks) == WEEKS


def test_count_back_dso():
    def sold(month: int, *payments: tuple[date, Decimal]) -> Item:
        return Item(f"S{month}", "N", "A", "A", date(2026, month, 10), date(2026, month, 10) + timedelta(days=30), Decimal("3000.00"), payments)

    # Owed on 31 August: all of August's sales (3,000 over 31 days) and half of July's (1,500 of 3,000 over 31 days).
    ledger = [sold(6, (date(2026, 7, 30), Decimal("3000.00"))), sold(7, (date(2026, 8, 20), Decimal("1500.00"))), sold(8)]
    result = dso(ledger, date(2026, 8, 31))
    assert (result.days, result.receivables, result.capped) == (Decimal("46.5"), Decimal("4500.00"), False)
    nothing_sold_since = dso([Item("OLD", "N", "A", "A", date(2020, 1, 1), date(2020, 1, 31), Decimal("10.00"))], date(2026, 8, 31))
    assert nothing_sold_since.capped and len(nothing_sold_since.months) == DSO_MONTHS


def test_invoices_a_buyer_leaves_unpaid_weigh_on_its_curve():
    paid = [_paid("G", DAY - timedelta(days=100 + 10 * k), 5) for k in range(4)]
    unpaid = [_open("G", DAY - timedelta(days=40 + k)) for k in range(4)]  # 40 to 43 days late, still owed
    new = _open("G", DAY + timedelta(days=3), "800.00")
    result = forecast([*paid, *unpaid, new], DAY)
    # Half of its invoices were paid 5 days late, half are not paid after 40 days: the new one is half expected in
    # its second week, half doubtful — and so are the four still owed, already later than any payment it made.
    assert result.weeks[1].expected == Decimal("400.00") and sum(w.expected for w in result.weeks) == Decimal("400.00")
    assert result.doubtful == Decimal("4400.00")
