"""Pre-send checks of the public-buyer data Chorus Pro requires (REGULATION §4.6).

Chorus Pro rejects a flow days later for a missing service code or legal commitment; checking before the
deposit turns that into an immediate, clear, permanent error the user can fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.fr import siret

from connectors.base import Envelope
from connectors.chorus_pro import contract


@dataclass(frozen=True)
class StructureRules:
    """What the buyer's Chorus Pro structure demands (its `parametres`), and its active service codes when known."""

    service_required: bool = False  # codeServiceDoitEtreRenseigne
    commitment_required: bool = False  # numeroEJDoitEtreRenseigne
    commitment_or_service: bool = False  # gestionNumeroEJOuCodeService
    active_services: frozenset[str] | None = None  # None: not looked up


def check_document(envelope: Envelope) -> list[str]:
    """Problems with the file itself: a syntax Chorus Pro takes, a PDF for Factur-X, the 30 MB flow limit."""
    problems = []
    if envelope.kind not in contract.SYNTAXE_FLUX:
        problems.append(f"document kind {envelope.kind!r} cannot be deposited on Chorus Pro (expected one of {sorted(contract.SYNTAXE_FLUX)})")
    if envelope.kind == "facturx" and not envelope.document.startswith(b"%PDF-"):
        problems.append("a Factur-X document must be a PDF")
    if len(envelope.document) > contract.MAX_FLUX_BYTES:
        problems.append(f"document of {len(envelope.document)} bytes exceeds the Chorus Pro flow limit of {contract.MAX_FLUX_BYTES} bytes")
    return problems


def check_public_buyer(envelope: Envelope, rules: StructureRules) -> list[str]:
    """Problems with the buyer identifiers and payment data; an empty list means the envelope can be deposited."""
    recipient = envelope.recipient
    problems = []
    buyer_siret = normalise_siret(recipient.siret)
    if not buyer_siret:
        problems.append("the public buyer's SIRET is missing (Chorus Pro identifies the buyer by SIRET)")
    elif not siret.is_valid(buyer_siret):
        problems.append(f"the public buyer's SIRET {recipient.siret!r} is not a valid SIRET (14 digits, Luhn check)")
    service_code = (recipient.service_code or "").strip()
    commitment = (recipient.legal_commitment or "").strip()
    if rules.service_required and not service_code:
        problems.append("the buyer's structure requires a service code (BT-10 buyer reference)")
    if rules.commitment_required and not commitment:
        problems.append("the buyer's structure requires a legal commitment number (BT-13 purchase order reference)")
    if rules.commitment_or_service and not (service_code or commitment):
        problems.append("the buyer's structure requires a service code (BT-10) or a legal commitment number (BT-13)")
    if service_code and rules.active_services is not None and service_code not in rules.active_services:
        problems.append(f"service code {service_code!r} is not an active service of the buyer's structure")
    if (envelope.payment_means_code or "").strip() in contract.CREDIT_TRANSFER_MEANS:
        problems.extend(_iban_problems(envelope.payee_iban))
    return problems


def normalise_siret(value: str | None) -> str:
    """The SIRET without spaces (as people write it), or "" when absent."""
    return "".join((value or "").split())


def _iban_problems(value: str | None) -> list[str]:
    if not (value or "").strip():
        return ["payment by credit transfer requires the payee's IBAN (BT-84)"]
    try:
        IBAN(value or "")
    except SchwiftyException as exc:
        return [f"the payee's IBAN {value!r} is invalid: {exc}"]
    return []
