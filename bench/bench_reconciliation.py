"""Benchmark of the payment matching engine (gateway/payments/matching.py): prints figures, asserts nothing.

A seeded generator makes open invoices for a set of buyers and noisy bank lines paying them: exact structured
references (RF), mangled references in free text, several numbers in one line, no reference at all (payer IBAN
learned, or only the payer's name, sometimes written differently), grouped payments, partial payments, bank
fees, and unrelated lines.  Each line is proposed and decided against the same book (the engine alone, without the
database: the store's import adds a transaction per statement).  Printed: automatic matches correct (%), payable
lines matched automatically (%), the right invoice among the first 3 candidates of the lines left for review (%),
lines per second on one core, and peak memory.

Usage: python bench/bench_reconciliation.py [--lines 10000] [--invoices 50000] [--buyers 5000] [--seed 17]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from decimal import Decimal

from stdnum import iso11649

from gateway.payments.matching import BankLineView, Book, OpenItem, Settings, decide, propose

FIRST = ["Boulangeries", "Transports", "Garage", "Pharmacie", "Atelier", "Cabinet", "Imprimerie", "Menuiserie", "Hôtel", "Société"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent"]
FORMS = ("SARL", "SAS", "SA", "EURL", "")


def _rf(number: str) -> str:
    body = "".join(ch for ch in number if ch.isalnum())
    return next(f"RF{d:02d}{body}" for d in range(2, 99) if iso11649.is_valid(f"RF{d:02d}{body}"))


def generate(rng: random.Random, invoices: int, buyers: int, lines: int) -> tuple[Book, list[tuple[BankLineView, set[str] | None]]]:
    """The book and the lines, each with the invoices it truly pays (None: an unrelated line)."""
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)} {n} {rng.choice(FORMS)}".strip() for n in range(buyers)]
    ibans = [f"FR76{rng.randrange(10**22, 10**23)}" for _ in range(buyers)]
    items = []
    for n in range(1, invoices + 1):
        buyer = rng.randrange(buyers)
        amount = Decimal(rng.randint(5000, 2_000_000)) / 100
        items.append(
            OpenItem(
                f"i{n}", f"FA2026-{n:06d}", f"CMD{rng.randrange(10**7)}" if rng.random() < 0.3 else None, f"B{buyer}", names[buyer], amount, "EUR"
            )
        )
    learned = {ibans[b]: {f"B{b}"} for b in range(0, buyers, 2)}  # half the payers already seen on a confirmed match
    book = Book(items, payers=learned)
    out: list[tuple[BankLineView, set[str] | None]] = []
    for k in range(lines):
        kind = rng.random()
        item = rng.choice(items)
        buyer = int(item.buyer_key[1:])
        num = item.number.split("-")[1].lstrip("0")
        payer = names[buyer] if rng.random() < 0.7 else names[buyer].upper().replace(" SARL", "").replace(" SAS", "")
        iban = ibans[buyer]
        amount, remittance, ref, truth = item.still_due, None, None, {item.id}
        if kind < 0.25:
            ref = _rf(item.number)
        elif kind < 0.55:
            remittance = rng.choice(("Facture {n}", "FA 2026/{n}", "fact. FA2026 {n} merci", "REGLEMENT FA2026-{n}", "{n}")).format(
                n=item.number[7:] if rng.random() < 0.5 else num
            )
            if remittance == num:
                remittance = f"Paiement FA2026-{num}"
        elif kind < 0.65:
            siblings = [i for i in book.by_buyer[item.buyer_key] if i.id != item.id][:2]
            group = [item, *siblings]
            amount = sum((i.still_due for i in group), Decimal("0.00"))
            truth = {i.id for i in group}
            if rng.random() < 0.5:
                remittance = " ".join(i.number for i in group)
        elif kind < 0.72:
            amount = (item.still_due / 2).quantize(Decimal("0.01"))
            remittance = f"Acompte {item.number}"
        elif kind < 0.80:
            amount = item.still_due - Decimal(rng.choice(("1.50", "2.90", "4.00")))
            remittance = f"{item.number} frais deduits"
        elif kind < 0.90:
            pass  # no reference: payer and amount only
        else:
            amount, payer, iban, truth = Decimal(rng.randint(100, 100000)) / 100, "SOCIETE INCONNUE", None, None
        out.append((BankLineView(k, amount, "EUR", None, ref, remittance, payer, iban), truth))
    return book, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--buyers", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    book, lines = generate(random.Random(args.seed), args.invoices, args.buyers, args.lines)
    settings = Settings()
    automatic = correct = payable = review = top3 = 0
    started = time.perf_counter()
    for line, truth in lines:
        proposals = propose(book, line, settings)
        chosen = decide(proposals, settings)
        payable += truth is not None
        if chosen is not None:
            automatic += 1
            correct += truth is not None and {a.invoice_id for a in chosen.allocations} == truth
        elif truth is not None:
            review += 1
            top3 += any(truth & {a.invoice_id for a in p.allocations} for p in proposals[:3])
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(lines)} lines against {args.invoices} open invoices of {args.buyers} buyers (seed {args.seed})")
    print(f"automatic matches correct:        {100 * correct / max(automatic, 1):6.2f} %  ({correct}/{automatic})")
    print(f"payable lines matched automatically: {100 * automatic / max(payable, 1):6.2f} %  ({automatic}/{payable})")
    print(f"review: right invoice in first 3:  {100 * top3 / max(review, 1):6.2f} %  ({top3}/{review})")
    print(f"lines per second (one core):      {len(lines) / elapsed:8.0f}")
    print(f"peak memory:                      {peak:8.0f} MiB")


if __name__ == "__main__":
    main()
