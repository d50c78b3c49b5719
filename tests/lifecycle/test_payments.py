"""212 Encaissée against the invoice, as pure functions: what is due per VAT rate, what was collected, what is still due."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import intake
from gateway.lifecycle import codes
from gateway.lifecycle.events import Amount
from gateway.lifecycle.payments import Balance, Due, collected, collection_of, collection_problems, due_of, full_payment
from gateway.model.invoice import VatBreakdown
from tests.conftest import load_example

D = Decimal
EXAMPLE_DUE = Due("EUR", {D("20"): D("14895.00"), D("5.5"): D("52.54")}, D("14947.54"))  # the French example: 12,412.50 + 20 %, 49.80 + 5.5 %


def men(amount: str, rate: str, currency: str = "EUR") -> Amount:
    return Amount(codes.COLLECTED, D(amount), currency, D(rate))


def balance(*earlier: Amount, due: Due = EXAMPLE_DUE) -> Balance:
    return Balance(due, collected(earlier))


def test_what_the_example_invoice_asks_for_per_vat_rate():
    invoice = intake.read_json(load_example("invoice-fr-b2b")).invoice
    assert due_of(invoice) == EXAMPLE_DUE
    assert due_of(invoice).by_rate[D("20.00")] == D("14895.00")  # 20 and 20.00 are the same rate


def test_a_prepayment_lowers_the_total_not_the_rates_and_rates_without_a_value_are_zero():
    invoice = intake.read_json(load_example("invoice-fr-b2b")).invoice
    prepaid = replace(invoice, totals=replace(invoice.totals, paid_amount=D("4947.54"), amount_due=D("10000.00")))
    assert due_of(prepaid) == Due("EUR", EXAMPLE_DUE.by_rate, D("10000.00"))
    exempt = replace(
        invoice,
        vat_breakdown=[VatBreakdown("E", D("0"), D("100.00"), D("0.00")), VatBreakdown("O", None, D("50.00"), D("0.00"))],
        totals=replace(invoice.totals, amount_due=None),
    )
    assert due_of(exempt) == Due("EUR", {D("0"): D("150.00")}, D("150.00"))  # two categories at 0 %, one rate


def test_collected_counts_only_amounts_collected_per_rate():
    amounts = [
        men("10", "20"),
        men("5.50", "20.00"),
        men("1", "5.5"),
        Amount(codes.PAID, D("99"), "EUR", D("20")),
        Amount(codes.COLLECTED, D("7"), "EUR"),
    ]
    assert collected(amounts) == {D("20"): D("15.50"), D("5.5"): D("1")}


def test_a_collection_within_what_is_due_fits():
    assert collection_problems(balance(), [men("14895.00", "20"), men("52.54", "5.5")]) == []  # the whole invoice at once
    assert collection_problems(balance(), [men("100.00", "20.00")]) == []


def test_partial_collections_add_up_and_never_pass_what_is_due():
    first, second = men("10000.00", "20"), men("4895.00", "20")
    assert collection_problems(balance(), [first]) == []
    assert collection_problems(balance(first), [second]) == []  # exactly what was left at 20 %
    [problem] = collection_problems(balance(first, second), [men("0.01", "20")])
    assert (
        problem
        == "0.01 EUR at 20 % would bring the amount collected at that rate to 14895.01, above the 14895.00 the invoice asks for (still due: 0.00)"
    )
    assert collection_problems(balance(first, second), [men("52.54", "5.50")]) == []  # the other rate is still due


def test_each_rate_is_checked_on_its_own():
    [problem] = collection_problems(balance(), [men("100.00", "20"), men("52.55", "5.5")])
    assert "at 5.5 % would bring the amount collected at that rate to 52.55, above the 52.54" in problem


def test_a_rate_the_invoice_does_not_have_is_refused():
    [problem] = collection_problems(balance(), [men("10.00", "10")])
    assert problem == "the invoice has no VAT rate 10 % (its rates: 20 %, 5.5 %)"


def test_a_collection_in_another_currency_is_refused():
    [problem] = collection_problems(balance(), [men("10.00", "20", "USD")])
    assert problem == "the amount collected at 20 % is in USD, the invoice in EUR"


def test_a_disbursement_gives_back_what_was_collected_never_more():
    paid = men("100.00", "20")
    assert collection_problems(balance(paid), [men("-100.00", "20")]) == []
    [problem] = collection_problems(balance(paid), [men("-100.01", "20")])
    assert "gives back more than was collected at that rate" in problem


def test_the_total_never_passes_the_amount_due_after_a_prepayment():
    prepaid = Due("EUR", EXAMPLE_DUE.by_rate, D("10000.00"))
    assert collection_problems(balance(due=prepaid), [men("10000.00", "20")]) == []
    [problem] = collection_problems(balance(due=prepaid), [men("9990.00", "20"), men("10.01", "5.5")])
    assert problem == "the amounts collected would total 10000.01 EUR, above the amount due of 10000.00 (still due: 10000.00)"


def test_what_is_still_due_and_what_settles_it():
    paid = men("4895.00", "20")
    position = balance(paid)
    assert (position.collected_total, position.still_due_total, position.still_due(D("20")), position.still_due(D("5.5"))) == (
        D("4895.00"),
        D("10052.54"),
        D("10000.00"),
        D("52.54"),
    )
    assert full_payment(position) == {D("20"): D("10000.00"), D("5.5"): D("52.54")}
    assert collection_problems(position, [men(str(v), str(r)) for r, v in full_payment(position).items()]) == []
    assert full_payment(balance(men("14895.00", "20"), men("52.54", "5.5"))) == {}  # settled: nothing more
    prepaid = Due("EUR", EXAMPLE_DUE.by_rate, D("10000.00"))
    assert full_payment(balance(due=prepaid)) == {D("20"): D("10000.00")}  # the highest rate first, within the total
    assert position.to_dict() == {
        "currency": "EUR",
        "due": "14947.54",
        "collected": "4895.00",
        "still_due": "10052.54",
        "by_vat_rate": [
            {"vat_rate": "20", "due": "14895.00", "collected": "4895.00", "still_due": "10000.00"},
            {"vat_rate": "5.5", "due": "52.54", "collected": "0.00", "still_due": "52.54"},
        ],
    }


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["20", "5.5", "10"]), st.decimals("-200", "9000", places=2)), max_size=12))
def test_whatever_the_sequence_the_accepted_collections_never_pass_what_is_due(tries):
    accepted: list[Amount] = []
    for rate, amount in tries:
        change = [men(str(amount), rate)]
        found = collection_problems(balance(*accepted), change)
        sums = collected([*accepted, *change])
        fits = D(rate) in EXAMPLE_DUE.by_rate and 0 <= sums[D(rate)] <= EXAMPLE_DUE.by_rate[D(rate)] and sum(sums.values()) <= EXAMPLE_DUE.total
        assert (found == []) == fits, (accepted, change, found)
        if fits:
            accepted += change
    for rate, total in collected(accepted).items():
        assert 0 <= total <= EXAMPLE_DUE.by_rate[rate]


def test_a_partial_payment_is_shared_between_the_rates_to_the_cent():
    """What a payment collects at each rate: in proportion to what each still asks for, the cents left on the highest."""
    shares = collection_of(balance(), D("5000.00"))
    assert shares == {D("20"): D("4982.43"), D("5.5"): D("17.57")} and sum(shares.values()) == D("5000.00")
    assert collection_problems(balance(), [men(str(v), str(r)) for r, v in shares.items()]) == []
    assert collection_of(balance(), D("20000.00")) == full_payment(balance())  # more than is due: what is due
    assert collection_of(balance(men("14895.00", "20")), D("10.00")) == {D("5.5"): D("10.00")}  # only the rate still open
    assert collection_of(balance(), D("0.00")) == {}


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=D("0.01"), max_value=D("14947.54"), places=2), st.decimals(min_value=D("0.00"), max_value=D("14895.00"), places=2))
def test_partial_payments_never_collect_more_than_a_rate_asks(amount, earlier):
    position = balance(men(str(earlier), "20"))
    shares = collection_of(position, amount)
    assert sum(shares.values()) == min(amount, position.still_due_total)
    assert collection_problems(position, [men(str(v), str(r)) for r, v in shares.items()]) == []
