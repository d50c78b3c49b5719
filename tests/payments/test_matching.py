"""The engine's rules, each on its own: references exact and mangled, several numbers in one line, payer and amount, grouped payments."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from decimal import Decimal

from gateway.payments.discounts import discounts
from gateway.payments.matching import BankLineView, Book, OpenItem, Settings, decide, propose
from gateway.payments.references import prefix_for

SETTINGS = Settings()


def _items() -> list[OpenItem]:
    items = [OpenItem(f"id{n}", f"FA2026-{n}", None, "356000000", "Boulangeries Martin SARL", Decimal("100.00") + n, "EUR") for n in range(10, 20)]
    items.append(OpenItem("erp", "F2026-000500", "CMD-77812", "552120222", "Transports Lyonnais SA", Decimal("480.00"), "EUR"))
    items.append(OpenItem("g1", "F2026-000601", None, "402000000", "Garage Petit", Decimal("1200.00"), "EUR"))
    items.append(OpenItem("g2", "F2026-000602", None, "402000000", "Garage Petit", Decimal("800.00"), "EUR"))
    items.append(OpenItem("g3", "F2026-000603", None, "402000000", "Garage Petit", Decimal("333.00"), "EUR"))
    return items


def _line(amount: str, remittance: str | None = None, *, line_id: int = 1, **kw) -> BankLineView:
    values = {"end_to_end_id": None, "creditor_ref": None, "payer_name": None, "payer_iban": None, **kw}
    return BankLineView(line_id, Decimal(amount), "EUR", remittance=remittance, **values)


def _best(book: Book, line: BankLineView):
    return decide(propose(book, line, SETTINGS), SETTINGS)


def test_structured_creditor_reference_and_end_to_end_id():
    book = Book(_items())
    best = _best(book, _line("480.00", creditor_ref="RF15F2026000500"))  # wrong check digits: not the invoice's reference
    assert best is None or best.rule != "creditor_reference"
    from stdnum import iso11649

    ref = next(f"RF{d:02d}F2026000500" for d in range(100) if iso11649.is_valid(f"RF{d:02d}F2026000500"))
    best = _best(book, _line("480.00", creditor_ref=ref))
    assert (best.rule, best.score, [a.invoice_id for a in best.allocations]) == ("creditor_reference", 1.0, ["erp"])
    best = _best(book, _line("480.00", end_to_end_id="CMD-77812"))  # the ERP reference as end-to-end id
    assert (best.rule, best.allocations[0].invoice_id, best.evidence["end_to_end_id"]) == ("end_to_end_id", "erp", "CMD-77812")


def test_mangled_references_and_several_numbers_in_one_line():
    book = Book(_items())
    for text in ("FA2026-12, 13 et 14", "Paiement FA 2026/12 / 13-14", "fa2026 12 & 13 & 14 merci"):
        best = _best(book, _line("339.00", text))  # 112 + 113 + 114
        assert best is not None and best.rule == "text_references", text
        assert [a.invoice_id for a in best.allocations] == ["id12", "id13", "id14"], text
        assert best.evidence["difference"] == "0.00"
    best = _best(book, _line("112.00", "Facture 2026-12"))  # no prefix: found by its digits
    assert (best.rule, best.evidence["how"], best.allocations[0].invoice_id) == ("text_references", "digits", "id12")


def test_numbers_written_without_their_zeros_or_by_their_serial_alone():
    """F2026-000601 written "F2026-601" (loose) is a reference; "facture 601" (the serial alone) only with the amount due."""
    book = Book(_items())
    for text in ("Reglement F2026-601", "F 2026/601 merci", "fact. F2026 601"):
        best = _best(book, _line("1200.00", text))
        assert (best.rule, best.evidence["how"], best.allocations[0].invoice_id) == ("text_reference", "loose", "g1"), text
    best = _best(book, _line("1200.00", "Facture 000601"))
    assert (best.evidence["how"], best.score, best.allocations[0].invoice_id) == ("serial", 0.93, "g1")
    assert _best(book, _line("600.00", "Facture 601")) is None  # a bare number and half the amount: for a person
    [proposal, *_] = propose(book, _line("600.00", "Facture 601"), SETTINGS)
    assert (proposal.evidence["how"], proposal.allocations[0].invoice_id) == ("serial", "g1")
    # A serial two open invoices share names neither.
    twins = Book([*_items(), OpenItem("other", "AV2025-601", None, "1", "Other", Decimal("1200.00"), "EUR")])
    assert all(p.rule not in ("text_reference", "text_references") for p in propose(twins, _line("1200.00", "Facture 601"), SETTINGS))


def test_fees_within_the_tolerance_are_written_off_and_a_partial_payment_stays_partial():
    book = Book(_items())
    best = _best(book, _line("108.50", "FA2026-12"))  # 3.50 of fees
    [allocation] = best.allocations
    assert (allocation.amount, allocation.written_off, best.rule) == (Decimal("108.50"), Decimal("3.50"), "text_reference")
    best = _best(book, _line("50.00", "acompte FA2026-12"))
    assert (best.allocations[0].amount, best.allocations[0].written_off) == (Decimal("50.00"), Decimal("0.00"))
    best = _best(book, _line("150.00", "FA2026-12"))  # over-paid: all of it on the invoice
    assert best.allocations[0].amount == Decimal("150.00") and best.evidence["difference"] == "38.00"
    proposals = propose(book, _line("200.00", "FA2026-12 et 13"), SETTINGS)  # 225 due for two: short beyond the tolerance → review
    assert decide(proposals, SETTINGS) is None and proposals[0].rule == "text_references"


def test_payer_and_amount_learned_iban_and_fuzzy_name():
    items = _items()
    book = Book(items, payers={"DE89370400440532013000": {"552120222"}})
    best = _best(book, _line("480.00", "virement", payer_iban="DE89370400440532013000"))
    assert (best.rule, best.score, best.evidence["learned"]) == ("payer_amount", 0.95, True)
    proposals = propose(book, _line("480.00", None, payer_name="TRANSPORTS LYONNAIS"), SETTINGS)
    assert proposals[0].rule == "payer_amount" and proposals[0].evidence["similarity"] >= 88
    assert decide(proposals, SETTINGS) is None  # a name alone is below the threshold: for review


def test_a_payer_name_is_recognised_among_many_buyers_by_its_uncommon_words_and_misspelt():
    """The name search narrows to buyers sharing an uncommon word of the payer's name; a misspelt name is still scored against all."""
    crowd = [OpenItem(f"c{n}", f"FC-{n}", None, f"9{n:08d}", f"Boulangerie Martin {n}", Decimal("10.00") + n, "EUR") for n in range(200)]
    book = Book([*_items(), *crowd])
    for name in ("TRANSPORTS LYONNAIS", "TRANSPORTSS LYONNAISS", "Boulangerie Martin 42"):  # the second: no word known
        [proposal, *_] = propose(book, _line("480.00" if "yon" in name.lower() else "52.00", None, payer_name=name), SETTINGS)
        expected = "erp" if "yon" in name.lower() else "c42"
        assert (proposal.rule, proposal.allocations[0].invoice_id) == ("payer_amount", expected), name
    assert len(book.name_words["martin"]) > 50 and "transportss" not in book.name_words  # common, unknown: neither narrows


def test_grouped_payment_by_bounded_subset_sum():
    book = Book(_items(), payers={"FR1420041010050500013M02606": {"402000000"}})
    best = _best(book, _line("1533.00", None, payer_iban="FR1420041010050500013M02606"))  # 1200 + 333
    assert best.rule == "grouped_payment" and sorted(a.invoice_id for a in best.allocations) == ["g1", "g3"]


def test_a_rejected_pair_is_never_proposed_and_debits_are_not_matched():
    book = Book(_items(), rejected={(7, "id12")})
    assert all(a.invoice_id != "id12" for p in propose(book, _line("112.00", "FA2026-12", line_id=7), SETTINGS) for a in p.allocations)
    assert propose(Book(_items()), _line("-112.00", "FA2026-12"), SETTINGS) == []


def test_seeded_noisy_lines_are_matched_correctly():
    """A small seeded version of the generator (bench/bench_reconciliation.py would run it at scale): mangled references."""
    rng = random.Random(17)
    items = [
        OpenItem(f"i{n}", f"FA2026-{n:05d}", None, f"B{n % 40}", f"Client {n % 40}", Decimal(rng.randint(1000, 900000)) / 100, "EUR")
        for n in range(1, 400)
    ]
    book = Book(items)
    forms = ("{p} {y}-{n}", "{p}{y}/{n}", "fact. {p} {y} {n}", "Facture {y}-{n}", "{p}-{y}-{n} merci")
    right = wrong = 0
    for k in range(200):
        item = rng.choice(items)
        n = item.number.split("-")[1]
        text = rng.choice(forms).format(p="FA", y="2026", n=n)
        best = _best(book, _line(str(item.still_due), text, line_id=k))
        if best is not None:
            right += best.allocations[0].invoice_id == item.id
            wrong += best.allocations[0].invoice_id != item.id
    assert wrong == 0 and right >= 190


def test_an_applied_match_lowers_the_due_closes_a_paid_invoice_and_teaches_the_payer():
    """Book.applied: what the store would read again, without reading it (a second instalment sees what is left)."""
    book = Book(_items())
    first = _best(book, _line("60.00", "Acompte FA2026-12", payer_iban="FR7630004000031234567890143"))
    assert first.allocations[0].invoice_id == "id12"
    book.applied(first, "FR76 3000 4000 0312 3456 7890 143")
    assert book.by_id["id12"].still_due == Decimal("52.00") and book.payers["FR7630004000031234567890143"] == {"356000000"}
    rest = _best(book, _line("52.00", "Solde FA2026-12"))
    assert (rest.allocations[0].invoice_id, rest.allocations[0].amount, rest.score) == ("id12", Decimal("52.00"), 0.96)
    book.applied(rest, None)
    assert "id12" not in book.by_id and all(i.id != "id12" for i in book.by_buyer["356000000"] + book.by_amount[Decimal("112.00")])
    assert all(a.invoice_id != "id12" for p in propose(book, _line("112.00", "FA2026-12"), SETTINGS) for a in p.allocations)


def test_a_payer_paying_an_invoice_less_its_credit_note_nets_it():
    """No reference, a known payer, 1,200.00 − 150.00: the invoice paid, the credit note used up, never netted twice."""
    credit = OpenItem("av1", "AV2026-7", None, "402000000", "Garage Petit", Decimal("150.00"), "EUR")
    book = Book(_items(), payers={"FR1420041010050500013M02606": {"402000000"}}, credits=[credit])
    best = _best(book, _line("1050.00", "VIREMENT", payer_iban="FR1420041010050500013M02606"))
    assert (best.rule, best.score, best.evidence["credit_notes"]) == ("credit_note_netted", 0.92, ["AV2026-7"])
    assert [(a.invoice_id, a.amount) for a in best.allocations] == [("g1", Decimal("1200.00")), ("av1", Decimal("-150.00"))]
    book.applied(best, None)
    assert "av1" not in book.credits_by_id and book.credits_by_buyer["402000000"] == []
    again = propose(book, _line("650.00", "VIREMENT", payer_iban="FR1420041010050500013M02606", line_id=2), SETTINGS)
    assert all(a.invoice_id != "av1" for p in again for a in p.allocations)


def test_a_learned_way_of_writing_numbers_finds_the_buyers_invoice_and_only_its():
    """ "F26/12" is nothing the reference reader knows; learned for the buyer 356000000, it is that buyer's FA2026-12."""
    assert prefix_for("Fact F26/0012, merci", "FA2026-12") == "F26/" and prefix_for("Facture 12", "FA2026-12") is None
    items = [*_items(), OpenItem("x12", "FB2026-12", None, "402000000", "Garage Petit", Decimal("112.00"), "EUR")]  # "12" twice
    line = _line("112.00", "Fact F26/12, merci")
    assert _best(Book(items), line) is None
    best = _best(Book(items, prefixes={"F26/": {"356000000"}}), line)
    assert (best.rule, best.score, best.allocations[0].invoice_id, best.evidence["found"]) == ("learned_reference", 0.93, "id12", ["F26/12"])
    other = _best(Book(items, prefixes={"F26/": {"402000000"}}), line)  # the other buyer's way: its own invoice
    assert other.allocations[0].invoice_id == "x12"
    named = _best(Book(_items(), payer_names={"BMSIEGE": {"552120222"}}), _line("480.00", "VIREMENT", payer_name="B.M. Siège"))
    assert (named.rule, named.allocations[0].invoice_id, named.evidence["learned"]) == ("payer_amount", "erp", True)


def test_a_payment_less_the_early_payment_discount_in_time_pays_the_invoice_in_full():
    """FA2026-12 (112.00, issued 20 November) grants 2 % when paid within 10 days: 109.76 by 30 November (+ 3 days of
    transfer) pays it, 2.24 granted as a discount; the same amount later is a partial payment; a payer paying the
    discounted amount of one invoice is recognised by it."""
    terms = discounts("Escompte de 2 % pour paiement sous 10 jours")
    items = [replace(i, issued=date(2026, 11, 20), discounts=terms) if i.id in ("id12", "g3") else i for i in _items()]
    book = Book(items)
    early = _best(book, _line("109.76", "Reglement FA2026-12", paid_on=date(2026, 12, 2)))
    [allocation] = early.allocations
    assert (early.rule, allocation.amount, allocation.discount, allocation.written_off) == (
        "text_reference",
        Decimal("109.76"),
        Decimal("2.24"),
        Decimal("0.00"),
    )
    assert early.evidence["discount"] == [{"invoice": "FA2026-12", "percent": "2", "until": "2026-11-30", "discount": "2.24"}]
    late = _best(book, _line("109.76", "Reglement FA2026-12", paid_on=date(2026, 12, 4)))
    assert (late.allocations[0].discount, late.evidence["difference"]) == (Decimal("0.00"), "-2.24")  # a partial payment
    fees = _best(book, _line("108.76", "Reglement FA2026-12", paid_on=date(2026, 11, 25)))  # the discount, and 1.00 of fees
    assert (fees.allocations[0].discount, fees.allocations[0].written_off) == (Decimal("2.24"), Decimal("1.00"))
    more = _best(book, _line("110.76", "Reglement FA2026-12", paid_on=date(2026, 11, 25)))  # 1 % taken of the 2 % allowed
    assert (more.allocations[0].amount, more.allocations[0].discount) == (Decimal("110.76"), Decimal("1.24"))
    by_payer = Book(items, payers={"FR7630004000031234567890143": {"402000000"}})  # Garage Petit's 333.00 less 2 %: 326.34
    best = _best(by_payer, _line("326.34", "virement", payer_iban="FR7630004000031234567890143", paid_on=date(2026, 11, 27)))
    assert (best.rule, best.allocations[0].invoice_id, best.allocations[0].discount) == ("payer_amount", "g3", Decimal("6.66"))
    by_payer.applied(best, None)
    assert "g3" not in by_payer.by_id  # settled in full by the payment and the discount
