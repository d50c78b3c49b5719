"""The reminders' words: Jinja2 templates (subject and body, French and English) per tone, the tenant's own or ours.

Templates run in Jinja2's sandbox with strict undefined values: a template naming a value no reminder has, or one
that does not compile, is refused when the policy is given (`check`), never discovered at send time.  The body is
plain text; the amounts are formatted by the `money` filter in the reminder's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

PARTS = ("subject", "body")
MAX_TEMPLATE = 20_000


def money(value: Decimal, currency: str = "EUR", language: str = "fr") -> str:
    """1 234,56 € in French, EUR 1,234.56 in English."""
    text = f"{Decimal(value):,.2f}"
    if language == "fr":
        return text.replace(",", "\u202f").replace(".", ",") + (" €" if currency == "EUR" else f" {currency}")
    return f"{currency} {text}"


def percent(value: Decimal, language: str = "fr") -> str:
    """8,28 % in French, 8.28% in English."""
    text = f"{Decimal(value):.2f}"
    return text.replace(".", ",") + "\u00a0%" if language == "fr" else text + "%"


def day(value: date, language: str = "fr") -> str:
    return value.strftime("%d/%m/%Y") if language == "fr" else value.isoformat()


_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.filters["money"] = money
_ENV.filters["day"] = day
_ENV.filters["percent"] = percent

_FR_FACTS = (
    "Facture {{ invoice.number }} du {{ invoice.issue_date|day('fr') }}, échue le {{ invoice.due_date|day('fr') }} "
    "({{ days_late }} jours de retard)\n"
    "Montant restant dû : {{ amounts.claimed|money(invoice.currency, 'fr') }}\n"
    "{% if amounts.penalties or amounts.indemnity %}"
    "Pénalités de retard au taux annuel de {{ law.rate|percent('fr') }} ({{ law.rate_basis }}) : "
    "{{ amounts.penalties|money(invoice.currency, 'fr') }}\n"
    "Indemnité forfaitaire pour frais de recouvrement ({{ law.indemnity_basis }}) : {{ amounts.indemnity|money('EUR', 'fr') }}\n"
    "Total réclamé : {{ amounts.total|money(invoice.currency, 'fr') }}\n"
    "{% endif %}"
    "{% if payment.iban %}\nVirement sur le compte {{ payment.iban }}{% if payment.bic %} (BIC {{ payment.bic }}){% endif %}"
    "{% if payment.reference %}, en rappelant la référence {{ payment.reference }}{% endif %}.\n{% endif %}"
    "{% if payment.link %}Payer en ligne : {{ payment.link }}\n{% endif %}"
)
_EN_FACTS = (
    "Invoice {{ invoice.number }} of {{ invoice.issue_date|day('en') }}, due on {{ invoice.due_date|day('en') }} "
    "({{ days_late }} days late)\n"
    "Amount still due: {{ amounts.claimed|money(invoice.currency, 'en') }}\n"
    "{% if amounts.penalties or amounts.indemnity %}"
    "Late-payment interest at {{ law.rate|percent('en') }} a year ({{ law.rate_basis }}): {{ amounts.penalties|money(invoice.currency, 'en') }}\n"
    "Fixed recovery indemnity ({{ law.indemnity_basis }}): {{ amounts.indemnity|money('EUR', 'en') }}\n"
    "Total claimed: {{ amounts.total|money(invoice.currency, 'en') }}\n"
    "{% endif %}"
    "{% if payment.iban %}\nPlease pay by transfer to {{ payment.iban }}{% if payment.bic %} (BIC {{ payment.bic }}){% endif %}"
    "{% if payment.reference %}, quoting {{ payment.reference }}{% endif %}.\n{% endif %}"
    "{% if payment.link %}Pay online: {{ payment.link }}\n{% endif %}"
)
DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "friendly": {
        "fr": {
            "subject": "Rappel : facture {{ invoice.number }} arrivée à échéance",
            "body": "Bonjour,\n\nSauf erreur de notre part, la facture ci-jointe n'a pas encore été réglée. Il s'agit peut-être "
            "d'un simple oubli : nous vous remercions de bien vouloir procéder à son règlement.\n\n"
            + _FR_FACTS
            + "\nSi votre paiement est en cours, merci de ne pas tenir compte de ce message.\n\n{{ seller.name }}\n",
        },
        "en": {
            "subject": "Reminder: invoice {{ invoice.number }} is past due",
            "body": "Hello,\n\nUnless we are mistaken, the attached invoice has not been paid yet. It may be an oversight: "
            "we would be grateful if you could settle it.\n\n"
            + _EN_FACTS
            + "\nIf your payment is already on its way, please disregard this message.\n\n{{ seller.name }}\n",
        },
    },
    "firm": {
        "fr": {
            "subject": "Relance : facture {{ invoice.number }} impayée ({{ days_late }} jours de retard)",
            "body": "Bonjour,\n\nMalgré notre précédent rappel, la facture ci-jointe reste impayée. Nous vous demandons de la "
            "régler dans les meilleurs délais. Conformément à l'article L441-10 du Code de commerce, des pénalités de retard "
            "et une indemnité forfaitaire pour frais de recouvrement sont dues.\n\n" + _FR_FACTS + "\n{{ seller.name }}\n",
        },
        "en": {
            "subject": "Second reminder: invoice {{ invoice.number }} unpaid ({{ days_late }} days late)",
            "body": "Hello,\n\nDespite our earlier reminder, the attached invoice is still unpaid. Please settle it without delay. "
            "Under article L441-10 of the French Commercial Code, late-payment interest and a fixed recovery indemnity are due.\n\n"
            + _EN_FACTS
            + "\n{{ seller.name }}\n",
        },
    },
    "formal_notice": {
        "fr": {
            "subject": "Mise en demeure de payer : facture {{ invoice.number }}",
            "body": "Madame, Monsieur,\n\nMalgré nos relances, la facture ci-jointe demeure impayée. Par la présente, nous vous "
            "mettons en demeure de régler la somme ci-dessous sous huit jours à compter de la réception de ce courrier. À défaut, "
            "nous engagerons sans autre avis une procédure de recouvrement.\n\n"
            + _FR_FACTS
            + "\nVeuillez agréer, Madame, Monsieur, nos salutations distinguées.\n\n{{ seller.name }}\n",
        },
        "en": {
            "subject": "Formal notice to pay: invoice {{ invoice.number }}",
            "body": "Dear Sir or Madam,\n\nDespite our reminders, the attached invoice remains unpaid. We hereby give you formal "
            "notice to pay the amount below within eight days of receiving this letter. Failing that, we will start recovery "
            "proceedings without further notice.\n\n" + _EN_FACTS + "\nYours faithfully,\n\n{{ seller.name }}\n",
        },
    },
}


def sample_context() -> dict[str, Any]:
    """A reminder's values, as `render` gets them: what a template may name (the check renders with it)."""
    return {
        "invoice": {"number": "F2026-000142", "issue_date": date(2026, 11, 20), "due_date": date(2026, 12, 20), "currency": "EUR",
                    "total": Decimal("14947.54")},
        "buyer": {"name": "Boulangeries Martin SARL", "siren": "356000000"},
        "seller": {"name": "Atelier Dupont & Fils", "siren": "552100554"},
        "tier": {"name": "reminder", "level": 1, "tone": "friendly"},
        "days_late": 12,
        "amounts": {"claimed": Decimal("14947.54"), "penalties": Decimal("60.12"), "indemnity": Decimal("40.00"), "total": Decimal("15047.66")},
        "law": {"rate": Decimal("12.15"), "rate_basis": "taux BCE + 10 points, art. L441-10 C. com.",
                "indemnity_basis": "art. L441-10 et D441-5 C. com."},
        "payment": {"iban": "FR7630006000011234567890189", "bic": "AGRIFRPP", "reference": "RF18F2026000142",
                    "link": "https://pay.example/F2026-000142"},
    }  # fmt: skip


def check(own: Any, pointer: str) -> list[tuple[str, str]]:
    """What is wrong with a tier's own templates ({language: {subject, body}}), by JSON pointer; [] when they render."""
    if own in (None, {}):
        return []
    if not isinstance(own, dict):
        return [(pointer, 'an object {"fr": {"subject": …, "body": …}, "en": …}')]
    problems = []
    for language, parts in own.items():
        if language not in ("fr", "en"):
            problems.append((f"{pointer}/{language}", "a language: fr or en"))
            continue
        if not isinstance(parts, dict) or set(parts) - set(PARTS) or not parts:
            problems.append((f"{pointer}/{language}", "an object with subject and/or body"))
            continue
        for part, source in parts.items():
            if not isinstance(source, str) or len(source) > MAX_TEMPLATE:
                problems.append((f"{pointer}/{language}/{part}", f"a template of at most {MAX_TEMPLATE} characters"))
                continue
            try:
                _ENV.from_string(source).render(sample_context())
            except TemplateError as exc:
                where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
                problems.append((f"{pointer}/{language}/{part}", f"template error{where}: {exc.message or exc}"))
    return problems


def render(tone: str, language: str, own: Mapping[str, Mapping[str, str]], context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of a reminder: the tier's own template where it has one for `language`, else ours for its tone."""
    chosen = {**DEFAULTS[tone][language], **own.get(language, {})}
    subject = " ".join(_ENV.from_string(chosen["subject"]).render(context).split())
    return subject, _ENV.from_string(chosen["body"]).render(context)
