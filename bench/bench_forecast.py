"""Backtest of the 13-week cash forecast (gateway/receivables/forecast.py): prints figures, asserts nothing.

A generated history: `--buyers` buyers, each with its own payment habit (early, on time, late, very late, erratic;
a few new buyers appear along the way and a few invoices are never paid or put in dispute), issuing about
`--per-week` invoices a week in all over `--weeks` weeks, on 30, 45 or 60-day terms.  At each cut (every four weeks
over the last year) the ledger is taken as it was known on that day (later payments and disputes hidden), the
forecast is made, and it is compared with the cash those open invoices actually brought in each of the 13 weeks.

Printed per horizon week: the mean actual cash, the mean absolute error and the weighted absolute percentage error
(WAPE = Σ|forecast − actual| / Σ actual) of the forecast and of a naive one (everything paid on its due date, what is
overdue in the first week), and how often the actual cash fell inside the forecast's 80 % interval.

Usage: python -m bench.bench_forecast [--buyers 200] [--weeks 104] [--per-week 300] [--seed 18]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from gateway.receivables.forecast import WEEKS, forecast
from gateway.receivables.ledger import ZERO, Item

START = date(2025, 1, 6)  # a Monday
HABITS = {"early": (-4, 2), "on time": (2, 3), "late": (18, 7), "very late": (50, 15), "erratic": (20, 25)}


def history(buyers: int, weeks: int, per_week: int, rng: random.Random) -> list[Item]:
    habits = [(rng.choice(list(HABITS)), rng.choice((30, 45, 60)), START + timedelta(weeks=rng.choice((0, 0, 0, weeks // 2)))) for _ in range(buyers)]
    items = []
    for week in range(weeks):
        for n in range(per_week):
            buyer = rng.randrange(buyers)
            habit, terms, since = habits[buyer]
            issued = START + timedelta(weeks=week, days=rng.randrange(5))
            if issued < since:
                continue
            due, total = issued + timedelta(days=terms), Decimal(str(round(rng.lognormvariate(7.5, 1.0), 2))).quantize(Decimal("0.01"))
            mean, spread = HABITS[habit]
            luck = rng.random()
            disputed = due + timedelta(days=rng.randrange(1, 20)) if luck < 0.02 else None
            paid = None if luck < 0.03 else due + timedelta(days=max(-terms, round(rng.gauss(mean, spread))))
            payments = ((paid, total),) if paid else ()
            items.append(Item(f"{week}-{n}", f"F{week}-{n}", f"B{buyer}", f"Buyer {buyer}", issued, due, total, payments, disputed))
    return items


def known(item: Item, cut: date) -> Item:
    """The item as the ledger showed it on `cut`: payments and disputes after it not yet known."""
    return replace(item, payments=tuple(p for p in item.payments if p[0] <= cut), disputed=item.disputed if item.in_dispute(cut) else None)


def naive(items: list[Item], cut: date) -> list[Decimal]:
    weeks = [ZERO] * WEEKS
    for item in items:
        owed = item.outstanding(cut)
        index = max(0, (item.due_date - cut).days) // 7
        if owed > 0 and index < WEEKS:
            weeks[index] += owed
    return weeks


def actual(items: list[Item], cut: date) -> list[Decimal]:
    weeks = [ZERO] * WEEKS
    for item in items:
        if item.outstanding(cut) <= 0:
            continue
        for when, amount in item.payments:
            index = ((when - cut).days - 1) // 7
            if when > cut and index < WEEKS:
                weeks[index] += amount
    return weeks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=104, help="weeks of history (the cuts are in the last year)")
    parser.add_argument("--per-week", type=int, default=300, help="invoices issued a week")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    items = history(args.buyers, args.weeks, args.per_week, rng)
    cuts = [START + timedelta(weeks=w) for w in range(args.weeks - 52, args.weeks - WEEKS, 4)]
    print(f"{len(items):,} invoices, {args.buyers} buyers, {args.weeks} weeks; {len(cuts)} cuts from {cuts[0]} to {cuts[-1]}")
    errors = [[ZERO, ZERO, ZERO, 0] for _ in range(WEEKS)]  # per horizon: actual, |forecast − actual|, |naive − actual|, inside
    started, spent = time.perf_counter(), 0.0
    for number, cut in enumerate(cuts, start=1):
        ledger = [known(item, cut) for item in items if item.issue_date <= cut]
        clock = time.perf_counter()
        result = forecast(ledger, cut)
        spent += time.perf_counter() - clock
        truth, simple = actual(items, cut), naive(ledger, cut)
        for k, week in enumerate(result.weeks):
            low, high = week.interval
            errors[k][0] += truth[k]
            errors[k][1] += abs(week.expected - truth[k])
            errors[k][2] += abs(simple[k] - truth[k])
            errors[k][3] += 1 if low <= truth[k] <= high else 0
        print(f"\r  cut {number}/{len(cuts)} ({cut})", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(f"forecast: {spent / len(cuts) * 1000:.0f} ms per cut on {len(ledger):,} invoices ({time.perf_counter() - started:.1f} s in all)")
    print(f"{'week':>4} {'mean actual':>13} {'MAE':>11} {'WAPE':>7} {'naive WAPE':>11} {'in 80 %':>8}")
    total = [ZERO, ZERO, ZERO]
    for k, (cash, error, simple_error, inside) in enumerate(errors):
        total = [total[0] + cash, total[1] + error, total[2] + simple_error]
        wape, naive_wape = (error / cash * 100 if cash else ZERO), (simple_error / cash * 100 if cash else ZERO)
        print(f"{k + 1:>4} {cash / len(cuts):>13,.2f} {error / len(cuts):>11,.2f} {wape:>6.1f}% {naive_wape:>10.1f}% {inside / len(cuts):>7.0%}")
    print(f"all 13 weeks: WAPE {total[1] / total[0] * 100:.1f} % (naive {total[2] / total[0] * 100:.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
