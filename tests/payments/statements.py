"""A seeded generator of realistic, noisy bank statements for a set of open invoices, written as camt.053, camt.054 and MT940.

`scenario` makes the open invoices of many buyers and the payments a bank would report for them, each with what it
truly pays: exact structured references (RF, ISO 11649), end-to-end ids, references mangled in free text (spacing,
prefixes, leading zeros dropped, several numbers in one line), invoices less a credit note issued since or an early-payment discount taken, no
reference at all (the payer's IBAN already learned, or its name only, written another way: upper case, without its
legal form, a foreign subsidiary, cut at 35 characters), grouped payments, partial payments in two instalments,
over-payments, bank fees deducted, and lines that pay no invoice (interest, a refund, card fees, a debit).
`write` puts the payments into statement files of one
format, the next file repeating the end of the previous one (banks resend lines: each must be imported once).

Used by the tests (tests/payments/test_generated.py) and by bench/bench_reconciliation.py.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

from stdnum import iso11649

from gateway.payments.discounts import discounts
from gateway.payments.matching import BankLineView, Book, OpenItem

FIRST = ["Boulangeries", "Transports", "Garage", "Pharmacie", "Atelier", "Cabinet", "Imprimerie", "Menuiserie", "Hôtel", "Société"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent"]
FORMS = ("SARL", "SAS", "SA", "EURL", "")
FOREIGN = ("GmbH", "BV", "Ltd", "SRL", "NV")
ACCOUNT = "FR7630006000011234567890189"  # the seller's account, on every statement
FIRST_DAY = date(2026, 11, 2)
CENT = Decimal("0.01")
DISCOUNT_TERMS = "Escompte de 2 % pour paiement sous 10 jours."


@dataclass(frozen=True)
class Invoice:
    """An open invoice as the seller issued it."""

    id: str
    number: str
    erp_reference: str | None
    buyer_key: str
    buyer_name: str
    amount: Decimal
    issue_date: date
    type_code: str = "380"  # 381: a credit note, netted by the buyer in a payment
    payment_terms: str | None = None  # an early-payment discount, for some


@dataclass(frozen=True)
class Payment:
    """One bank line to report, and the invoices it truly pays (empty: it pays none)."""

    kind: str
    amount: Decimal  # signed: a credit is positive
    booking_date: date
    bank_ref: str
    truth: frozenset[str] = frozenset()
    remittance: str | None = None
    creditor_ref: str | None = None
    end_to_end_id: str | None = None
    payer_name: str | None = None
    payer_iban: str | None = None


@dataclass
class Scenario:
    invoices: list[Invoice]
    payments: list[Payment]
    learned: dict[str, set[str]] = field(default_factory=dict)  # payer IBAN → buyer, seen on earlier confirmed matches


def rf(number: str) -> str:
    """The ISO 11649 creditor reference the gateway prints for an invoice number (RF, check digits, the number folded)."""
    body = "".join(ch for ch in number.upper() if ch.isalnum())
    return next(f"RF{d:02d}{body}" for d in range(2, 99) if iso11649.is_valid(f"RF{d:02d}{body}"))


def _iban(rng: random.Random, country: str = "FR") -> str:
    """A syntactically valid IBAN (ISO 13616 check digits) of `country`."""
    bban = "".join(str(rng.randrange(10)) for _ in range(23 if country == "FR" else 18))
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _payer_as_written(rng: random.Random, name: str) -> str:
    """How a bank writes the payer: as is, in capitals without its legal form, a foreign subsidiary, or cut at 35."""
    roll = rng.random()
    if roll < 0.55:
        return name
    if roll < 0.8:
        return " ".join(w for w in name.upper().split() if w not in {"SARL", "SAS", "SA", "EURL"})
    if roll < 0.9:
        return f"{' '.join(name.split()[:3])} {rng.choice(FOREIGN)}"
    return f"{name} - SERVICE COMPTABILITE FOURNISSEURS"[:35].strip()


def scenario(rng: random.Random, invoices: int, buyers: int, payments: int) -> Scenario:
    """Open invoices of `buyers` buyers and `payments` bank lines paying them, noisily."""
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)} {n} {rng.choice(FORMS)}".strip() for n in range(buyers)]
    ibans = [_iban(rng) for _ in range(buyers)]
    items = []
    for n in range(1, invoices + 1):
        buyer = rng.randrange(buyers)
        amount = Decimal(rng.randint(5000, 2_000_000)) / 100
        erp = f"CMD{rng.randrange(10**7)}" if rng.random() < 0.3 else None
        items.append(Invoice(f"i{n}", f"FA2026-{n:06d}", erp, f"B{buyer}", names[buyer], amount, FIRST_DAY - timedelta(days=invoices - n)))
    by_buyer: dict[str, list[Invoice]] = {}
    for item in items:
        by_buyer.setdefault(item.buyer_key, []).append(item)
    learned = {ibans[b]: {f"B{b}"} for b in range(0, buyers, 2)}  # half the payers already seen on a confirmed match
    unpaid = list(items)
    rng.shuffle(unpaid)
    out: list[Payment] = []
    credits: list[Invoice] = []
    paid: set[str] = set()  # already paid by a line (a grouped payment pays some before their turn)
    while len(out) < payments and unpaid:
        item = unpaid.pop()
        if item.id in paid:
            continue
        paid.add(item.id)
        buyer = int(item.buyer_key[1:])
        day = FIRST_DAY + timedelta(days=len(out) * 30 // max(payments, 1))
        ref = f"BQ{len(out):09d}"
        common = {"payer_name": _payer_as_written(rng, names[buyer]), "payer_iban": ibans[buyer]}
        serial = item.number.split("-")[1]
        kind = rng.random()
        if kind < 0.2:
            out.append(Payment("rf", item.amount, day, ref, frozenset({item.id}), creditor_ref=rf(item.number), **common))
        elif kind < 0.27:
            out.append(Payment("end_to_end", item.amount, day, ref, frozenset({item.id}), end_to_end_id=item.number, **common))
        elif kind < 0.46:
            written = rng.choice(("Facture {n}", "FA 2026/{n}", "fact. FA2026 {n} merci", "REGLEMENT FA2026-{n}", "Paiement FA2026-{n}"))
            remittance = written.format(n=serial if rng.random() < 0.5 else serial.lstrip("0"))
            out.append(Payment("mangled", item.amount, day, ref, frozenset({item.id}), remittance=remittance, **common))
        elif kind < 0.5:  # issued a few days ago with a 2 % discount for payment within 10 days, which the buyer takes
            items[int(item.id[1:]) - 1] = replace(item, issue_date=day - timedelta(days=rng.randint(1, 10)), payment_terms=DISCOUNT_TERMS)
            remittance = rng.choice(("VIREMENT", f"{item.number} escompte 2 %", f"Reglement {item.number}"))
            taken = item.amount - (item.amount * 2 / 100).quantize(CENT)
            out.append(Payment("discount", taken, day, ref, frozenset({item.id}), remittance=remittance, **common))
        elif kind < 0.6:
            siblings = [i for i in by_buyer[item.buyer_key] if i.id != item.id and i.id not in paid][:2]
            paid.update(i.id for i in siblings)
            group = [item, *siblings]
            total = sum((i.amount for i in group), Decimal("0.00"))
            remittance = None
            if len(group) > 1 and rng.random() < 0.5:  # "FA2026-12, 13 et 14", or each number in full
                later = " et ".join(i.number.split("-")[1].lstrip("0") for i in siblings)
                remittance = f"FA2026-{serial.lstrip('0')}, {later}" if rng.random() < 0.5 else " ".join(i.number for i in group)
            out.append(Payment("grouped", total, day, ref, frozenset(i.id for i in group), remittance=remittance, **common))
        elif kind < 0.67:
            first = (item.amount / 2).quantize(CENT)
            out.append(Payment("partial", first, day, ref, frozenset({item.id}), remittance=f"Acompte {item.number}", **common))
            rest = Payment(
                "partial", item.amount - first, day + timedelta(days=7), f"{ref}B", frozenset({item.id}), remittance=f"Solde {item.number}"
            )
            out.append(replace(rest, **common))
        elif kind < 0.71:
            over = item.amount + Decimal(rng.choice(("10.00", "100.00", "250.00")))
            out.append(Payment("over_paid", over, day, ref, frozenset({item.id}), remittance=f"{item.number} avec avoir non deduit", **common))
        elif kind < 0.79:
            fee = Decimal(rng.choice(("1.50", "2.90", "4.00")))
            out.append(Payment("fees", item.amount - fee, day, ref, frozenset({item.id}), remittance=f"{item.number} frais deduits", **common))
        elif kind < 0.88:
            out.append(Payment("no_reference", item.amount, day, ref, frozenset({item.id}), remittance="VIREMENT", **common))
        elif kind < 0.92:  # a credit note issued since, deducted by the buyer
            amount = (item.amount * Decimal(rng.randint(5, 30)) / 100).quantize(CENT)
            credit = Invoice(f"c{len(credits) + 1}", f"AV2026-{len(credits) + 1:05d}", None, item.buyer_key, item.buyer_name, amount, day, "381")
            credits.append(credit)
            remittance = rng.choice(("VIREMENT", f"{item.number} moins avoir", f"{item.number} - {credit.number}"))
            out.append(Payment("netted", item.amount - amount, day, ref, frozenset({item.id, credit.id}), remittance=remittance, **common))
        else:
            paid.discard(item.id)
            unpaid.insert(0, item)  # this invoice stays open: the line is unrelated
            out.append(_unrelated(rng, day, ref))
    return Scenario(items + credits, out[:payments], learned)


def _unrelated(rng: random.Random, day: date, ref: str) -> Payment:
    """A line that pays no invoice: bank interest, a supplier's refund, card fees, a transfer out."""
    roll = rng.random()
    if roll < 0.3:
        return Payment("unrelated", Decimal(rng.randint(100, 9000)) / 100, day, ref, remittance="INTERETS CREDITEURS", payer_name="BANQUE")
    if roll < 0.6:
        amount = Decimal(rng.randint(100, 100000)) / 100
        return Payment(
            "unrelated", amount, day, ref, remittance="REMBOURSEMENT TROP PERCU", payer_name="FOURNITURES DUPUIS SA", payer_iban=_iban(rng, "BE")
        )
    if roll < 0.8:
        return Payment("debit", -Decimal(rng.randint(100, 5000)) / 100, day, ref, remittance="COMMISSION CARTE", payer_name="BANQUE")
    return Payment("debit", -Decimal(rng.randint(10000, 900000)) / 100, day, ref, remittance="VIREMENT COMPTE EPARGNE", payer_name="MOI-MEME")


def open_book(world: Scenario) -> Book:
    """The matching engine's book of the scenario: its invoices to pay, its credit notes to net, the payers learned."""
    items = [
        (OpenItem(i.id, i.number, i.erp_reference, i.buyer_key, i.buyer_name, i.amount, "EUR", i.issue_date, discounts(i.payment_terms)), i.type_code)
        for i in world.invoices
    ]
    return Book([i for i, code in items if code == "380"], world.learned, credits=[i for i, code in items if code != "380"])


def line_view(n: int, p: Payment) -> BankLineView:
    """The payment as the engine sees a stored bank line, numbered `n`."""
    return BankLineView(n, p.amount, "EUR", p.end_to_end_id, p.creditor_ref, p.remittance, p.payer_name, p.payer_iban, p.booking_date)


def invoice_rows(tenant_id: int, invoices: list[Invoice]) -> list[dict]:
    """The invoices as rows of the store's invoices table, delivered (201), without documents: enough to be paid."""
    fixed = {"tenant_id": tenant_id, "direction": "outgoing", "currency": "EUR", "seller_name": "Générateur SA"}
    stored = {"profile": "EN16931", "syntax": "json", "state": "validated", "status": "201", "status_label": "Émise", "report": {}}
    return [
        {
            **fixed,
            **stored,
            "id": str(uuid.uuid4()),
            "number": i.number,
            "type_code": i.type_code,
            "issue_date": i.issue_date,
            "issue_year": i.issue_date.year,
            "buyer_name": i.buyer_name,
            "tax_inclusive_amount": i.amount,
            "amount_due": i.amount,
            "erp_reference": i.erp_reference,
            "payment_terms": i.payment_terms,
        }
        for i in invoices
    ]


# ---------------------------------------------------------------------------- files


def write(payments: list[Payment], fmt: str, per_file: int = 500, resent: int = 5) -> list[bytes]:
    """The payments as statement files of `fmt` (camt.053, camt.054, mt940), `per_file` new lines each, every file
    after the first repeating the last `resent` lines of the one before."""
    writer = {"camt.053": camt053, "camt.054": camt054, "mt940": mt940}[fmt]
    files, start = [], 0
    while start < len(payments):
        begin = max(0, start - resent) if start else 0
        files.append(writer(f"S{len(files) + 1:05d}", payments[begin : start + per_file]))
        start += per_file
    return files


def _x(text: str | None) -> str:
    return escape(text or "")


def _tx(p: Payment, version: int) -> str:
    party = "Dbtr" if p.amount > 0 else "Cdtr"
    name = f"<Pty><Nm>{_x(p.payer_name)}</Nm></Pty>" if version >= 8 else f"<Nm>{_x(p.payer_name)}</Nm>"
    parties = (f"<{party}>{name}</{party}>" if p.payer_name else "") + (
        f"<{party}Acct><Id><IBAN>{p.payer_iban}</IBAN></Id></{party}Acct>" if p.payer_iban else ""
    )
    amount = f'<Amt Ccy="EUR">{abs(p.amount)}</Amt>' if version > 2 else f'<AmtDtls><TxAmt><Amt Ccy="EUR">{abs(p.amount)}</Amt></TxAmt></AmtDtls>'
    structured = (
        f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{p.creditor_ref}</Ref></CdtrRefInf></Strd>" if p.creditor_ref else ""
    )
    unstructured = f"<Ustrd>{_x(p.remittance)}</Ustrd>" if p.remittance else ""
    return (
        f"<TxDtls><Refs><AcctSvcrRef>{p.bank_ref}</AcctSvcrRef><EndToEndId>{_x(p.end_to_end_id) or 'NOTPROVIDED'}</EndToEndId></Refs>"
        f"{amount}<CdtDbtInd>{'CRDT' if p.amount > 0 else 'DBIT'}</CdtDbtInd>"
        f"{f'<RltdPties>{parties}</RltdPties>' if parties else ''}"
        f"{f'<RmtInf>{unstructured}{structured}</RmtInf>' if unstructured or structured else ''}</TxDtls>"
    )


def _entry(p: Payment, version: int) -> str:
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= 8 else "<Sts>BOOK</Sts>"
    return (
        f'<Ntry><Amt Ccy="EUR">{abs(p.amount)}</Amt><CdtDbtInd>{"CRDT" if p.amount > 0 else "DBIT"}</CdtDbtInd>{status}'
        f"<BookgDt><Dt>{p.booking_date}</Dt></BookgDt><ValDt><Dt>{p.booking_date}</Dt></ValDt><AcctSvcrRef>{p.bank_ref}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"<NtryDtls><TxDtls>{_tx(p, version)[len('<TxDtls>') :]}</NtryDtls></Ntry>"
    )


def _camt(kind: str, group: str, item: str, ident: str, payments: list[Payment], version: int) -> bytes:
    day = payments[-1].booking_date if payments else FIRST_DAY
    entries = "".join(_entry(p, version) for p in payments)
    balance = (
        ""
        if kind == "054"
        else (f'<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>')
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version:02d}"><{group}>'
        f"<GrpHdr><MsgId>MSG-{ident}</MsgId><CreDtTm>{day}T22:00:00+01:00</CreDtTm></GrpHdr>"
        f"<{item}><Id>{ident}</Id><CreDtTm>{day}T22:00:00+01:00</CreDtTm><Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{balance}{entries}</{item}></{group}></Document>"
    ).encode()


def camt053(ident: str, payments: list[Payment], version: int = 8) -> bytes:
    return _camt("053", "BkToCstmrStmt", "Stmt", ident, payments, version)


def camt054(ident: str, payments: list[Payment], version: int = 2) -> bytes:
    return _camt("054", "BkToCstmrDbtCdtNtfctn", "Ntfctn", ident, payments, version)


def swift_text(text: str) -> str:
    """The SWIFT X character set, more or less: what banks do to accents and to the characters they cannot send."""
    plain = text.translate(str.maketrans("éèêëàâäôöûüùîïçÉÈÊÀÔÛÎÇ", "eeeeaaaoouuuiicEEEAOUIC"))
    return "".join(ch if ch.isalnum() or ch in " /-?:().,'+" else " " for ch in plain)


def _wrap86(details: str) -> list[str]:
    """The :86: field as banks cut it: lines of 65 characters, the tag's included, 6 at most."""
    text = (":86:" + details)[: 6 * 65]
    return [text[n : n + 65] for n in range(0, len(text), 65)]


def mt940(ident: str, payments: list[Payment]) -> bytes:
    """An MT940 statement: :61: with the bank's reference after //, :86: with /EREF/, /CRF/, /REMI/, /NAME/, /IBAN/."""
    day = payments[-1].booking_date if payments else FIRST_DAY
    lines = [":20:" + ident, f":25:{ACCOUNT}", f":28C:{ident[1:]}/001", f":60F:C{FIRST_DAY:%y%m%d}EUR0,00"]
    total = Decimal("0.00")
    for p in payments:
        total += p.amount
        amount = f"{abs(p.amount):.2f}".replace(".", ",")
        customer = (p.end_to_end_id or "NONREF")[:16]
        lines.append(f":61:{p.booking_date:%y%m%d%m%d}{'C' if p.amount > 0 else 'D'}{amount}NTRF{customer}//{p.bank_ref}")
        tags = [("EREF", p.end_to_end_id), ("CRF", p.creditor_ref), ("REMI", p.remittance), ("NAME", p.payer_name), ("IBAN", p.payer_iban)]
        lines.extend(_wrap86("".join(f"/{tag}/{swift_text(value)}" for tag, value in tags if value)))
    lines.append(f":62F:{'C' if total >= 0 else 'D'}{day:%y%m%d}EUR{abs(total):.2f}".replace(".", ","))
    return ("\r\n".join(lines) + "\r\n-").encode("latin-1")
