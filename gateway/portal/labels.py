"""The portal's names for the gateway's codes, in the reader's language: lifecycle statuses, roles, parties,
delivery and webhook states, status sources, routing steps."""

from __future__ import annotations

from typing import Any

from flask import g

from gateway.lifecycle import codes, service
from gateway.portal.i18n import gettext as _
from gateway.store import models as db


def status_label(code: str, stored: str | None = None) -> str:
    """A lifecycle status in the reader's language: the reform's label, the intake's rejection, or the stored label."""
    known = codes.STATUSES.get(code)
    if known is not None:
        return known.label if g.lang == "fr" else known.label_en
    if code == db.STATUS_REJECTED:
        return _("Rejected at intake checks")
    return stored or code


def role_name(role: str) -> str:
    """A portal role in the reader's language."""
    return {"administrator": _("Administrator"), "compliance-officer": _("Compliance officer"), "operator": _("Operator")}.get(role, role)


def party_role(code: str) -> str:
    """Who emitted a status (UNCL 3035 role of the CDAR message) in the reader's language."""
    names = {
        codes.SELLER: _("seller"),
        codes.BUYER: _("buyer"),
        codes.PLATFORM: _("platform"),
        codes.PPF: _("public platform (PPF)"),
        codes.FACTOR: _("factor"),
    }
    return names.get(code, code)


def delivery_label(code: str | None) -> str:
    """A delivery state or attempt outcome in the reader's language (the two vocabularies share their words)."""
    names = {
        "pending": _("waiting"),
        "sending": _("being sent"),
        "sent": _("sent"),
        "failed-retrying": _("failing, will retry"),
        "dead": _("dead letter"),
        "unroutable": _("unroutable"),
        "rejected": _("rejected by the network"),
        "failed": _("failed"),
        "interrupted": _("interrupted"),
        "gave-up": _("gave up"),
    }
    return names.get(code or "", code or _("in progress"))


def direction_name(direction: str) -> str:
    return {"outgoing": _("Outgoing"), "incoming": _("Incoming")}.get(direction, direction)


def channel_name(channel: str | None) -> str:
    """A delivery channel (a connector's name) in the reader's language."""
    names = {"chorus_pro": _("Chorus Pro"), "peppol": _("Peppol"), "email": _("E-mail"), "sandbox": _("Sandbox")}
    return names.get(channel or "", channel or _("Not routed yet"))


def source_name(source: str) -> str:
    """Where a status came from (StatusEvent.source) in the reader's language."""
    names = {
        "gateway-intake": _("Gateway — intake checks"),
        service.SOURCE_GATEWAY: _("Gateway"),
        service.SOURCE_API: _("Your ERP (API)"),
        service.SOURCE_PORTAL: _("Portal"),
        service.SOURCE_PAYMENT: _("Payment"),
        service.SOURCE_PARTNER: _("Partner platform"),
        service.SOURCE_PPF: _("Public platform (PPF)"),
        service.SOURCE_SANDBOX: _("Sandbox (simulated recipient)"),
    }
    return names.get(source, source)


def routing_step(step: str | None, outcome: str | None = None) -> str:
    """A routing step (gateway.routing.router.Step.step), or what came of it (.outcome), in the reader's language."""
    names = {
        "rule": _("tenant routing rule"),
        "directory": _("routing directory"),
        "heuristic": _("public-sector SIREN heuristic"),
        "peppol": _("Peppol address of the buyer"),
        "email": _("e-mail address of the buyer"),
        "default": _("default rule"),
        "sandbox": _("sandbox (no channel configured yet)"),
        "decided": _("decided"),
        "no-match": _("no match"),
        "skipped": _("skipped"),
        "not-found": _("not found"),
    }
    key = outcome if outcome is not None else step
    return names.get(key or "", key or "—")


def webhook_state(state: str) -> str:
    """A webhook delivery's state in the reader's language."""
    names = {
        "pending": _("waiting"),
        "retrying": _("failing, will retry"),
        "sending": _("being sent"),
        "delivered": _("delivered"),
        "failed": _("failed"),
    }
    return names.get(state, state)


def place_name(place: list[list]) -> str:
    """The place of a group of findings (`gateway.validation.grouping.place`) in the reader's language: "line 2 › address"."""
    counted = {
        "line": _("line {n}"),
        "allowance_charge": _("allowance or charge {n}"),
        "allowance": _("allowance {n}"),
        "charge": _("charge {n}"),
        "vat_breakdown": _("VAT breakdown {n}"),
        "note": _("note {n}"),
    }
    single = {
        "seller": _("seller"),
        "buyer": _("buyer"),
        "payee": _("payee"),
        "tax_representative": _("tax representative"),
        "delivery": _("delivery"),
        "address": _("address"),
        "totals": _("totals"),
        "payment": _("payment instructions"),
    }
    words = [counted[part].format(n=n) if part in counted and n else single.get(part, part) for part, n in place]
    return " › ".join(words) if words else _("the whole invoice")


def payment_state(state: str) -> str:
    """An invoice's payment state (`gateway.payments.effects`), in the reader's language."""
    names = {"unpaid": _("unpaid"), "partially_paid": _("partially paid"), "paid": _("paid"), "over_paid": _("over-paid")}
    return names.get(state, state)


def reminder_label(word: str) -> str:
    """A dunning reminder's state or channel (`gateway.dunning`), in the reader's language."""
    names = {"pending": _("to send"), "sent": _("sent"), "failed": _("failed, retried"), "skipped": _("skipped"),
             "email": _("e-mail"), "webhook": _("webhook"), "letter": _("letter")}  # fmt: skip
    return names.get(word, word)


def match_rule(rule: str) -> str:
    """The matching rule that proposed or made a payment match (`gateway.payments.matching`), in the reader's language."""
    names = {
        "creditor_reference": _("structured creditor reference"),
        "end_to_end_id": _("end-to-end id"),
        "text_reference": _("invoice number in the remittance"),
        "text_references": _("invoice numbers in the remittance"),
        "learned_reference": _("number written as this buyer writes them"),
        "payer_amount": _("known payer, amount of one invoice"),
        "grouped_payment": _("known payer, sum of several invoices"),
        "credit_note_netted": _("known payer, invoice less a credit note"),
        "amount_only": _("same amount only"),
        "person": _("decided by a person"),
    }
    return names.get(rule, rule)


def match_evidence(evidence: dict) -> list[tuple[str, str]]:
    """What a match was found on, as (label, value) pairs a person can check against the bank line."""
    names = {
        "creditor_reference": _("Reference"),
        "end_to_end_id": _("End-to-end id"),
        "found": _("Read in the remittance"),
        "learned_prefix": _("Learned from a decision"),
        "payer_iban": _("Payer's IBAN"),
        "payer_name": _("Payer's name"),
        "similarity": _("Name similarity"),
        "credit_notes": _("Credit notes netted"),
        "difference": _("Difference"),
    }
    pairs = []
    for key, label in names.items():
        value = evidence.get(key)
        if value in (None, "", []):
            continue
        pairs.append((label, ", ".join(value) if isinstance(value, list) else f"{value:.0f} %" if key == "similarity" else str(value)))
    for early in evidence.get("discount") or ():
        said = _("{percent} % paid by {until}: {amount} off {number}", percent=early["percent"], until=early["until"],
                 amount=early["discount"], number=early["invoice"])  # fmt: skip
        pairs.append((_("Early-payment discount"), said))
    if evidence.get("learned"):
        pairs.append((_("Payer"), _("recognised by an earlier match")))
    return pairs


def risk_finding(finding: dict[str, Any]) -> str:
    """A risk finding (`gateway.risk.checks`) in the reader's language, from its kind and its evidence."""
    evidence: dict[str, Any] = finding.get("evidence") or {}
    known = ", ".join(evidence.get("known", []))
    texts = {
        "duplicate_document": _("The same document was received before, as invoice {invoice}.", invoice=evidence.get("invoice")),
        "duplicate_number": _("The supplier already sent this number, as {earlier}.", earlier=evidence.get("earlier")),
        "possible_duplicate": _("Invoice {invoice} of {day} has the same amount ({amount}).", invoice=evidence.get("invoice"),
                                day=evidence.get("issue_date"), amount=evidence.get("amount")),
        "iban_changed": _("Payment is asked to {iban}; the supplier's earlier invoices were paid to {known}. Check the change with the "
                          "supplier through a channel you already know before paying.", iban=evidence.get("iban"), known=known),
        "invalid_iban": _("The IBAN {iban} is not valid (wrong check digits).", iban=evidence.get("iban")),
        "iban_country": _("The IBAN is an account in {country}; the seller is in {seller}.", country=str(evidence.get("iban", ""))[:2],
                          seller=evidence.get("seller_country")),
        "invalid_identifier": _("An identifier of the seller fails its check (SIREN {siren}, VAT number {vat})."
                                , siren=evidence.get("siren") or "—", vat=evidence.get("vat_id") or "—"),
        "amount_outlier": _("{amount} is far from the supplier's usual {median} ({count} earlier invoices).", amount=evidence.get("amount"),
                            median=evidence.get("median"), count=evidence.get("invoices")),
        "address_changed": _("The seller's postal address differs from the one on its latest earlier invoice."),
        "vat_rate": _("Standard-rated VAT at {rates} %: not a rate France applies.", rates=", ".join(evidence.get("rates", []))),
        "round_amount": _("A round amount ({amount}).", amount=evidence.get("amount")),
        "weekend": _("Issued on a weekend ({day}).", day=evidence.get("issue_date")),
    }  # fmt: skip
    return texts.get(str(finding.get("kind")), str(finding.get("explanation", "")))


def risk_level(level: str) -> str:
    """Where the risk checks route an incoming invoice, in the reader's language."""
    names = {"auto_approve": _("can be approved"), "normal": _("to review as usual"), "hold": _("on hold: check before paying")}
    return names.get(level, level)
