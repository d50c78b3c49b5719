"""The document an invoice travels as on Peppol: a UBL written from the canonical invoice under a Peppol
specification, and checked with the official rules of that specification before anything is sent.

Peppol receivers validate what arrives against the specification its document type names, so the
gateway's generic EN 16931 UBL (BT-24 `urn:cen.eu:en16931:2017`) is not what Peppol carries:

- `bis3` — Peppol BIS Billing 3.0: BT-24 `…#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0`, BT-23
  `urn:fdc:peppol.eu:2017:poacc:billing:01:1.0` (REGULATION §5.1); checked with the UBL XSD, the CEN
  EN 16931 rules and the OpenPeppol PEPPOL-EN16931-UBL rules;
- `france` — the French Peppol CIUS (REGULATION §5.2): BT-24 `…#compliant#urn:peppol:france:billing:cius:1.0`,
  or the invoice's own French Peppol customization (EXTENDED …); BT-23 stays the billing frame (B1, S1 …)
  that the BR-FR rules read; checked with the UBL XSD, EN 16931 (or EXTENDED-CTC-FR) and BR-FR;
- `auto` (default) — `france` when the invoice declares a French Peppol customization or seller and buyer
  are both in France (the regulated domestic flow), else `bis3`.

The same writer (`gateway.formats.ubl.write_ubl`) writes it, with BT-24 / BT-23 given.  A document with
a fatal finding is never sent: the caller makes the delivery a dead letter naming the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.peppol.identifiers import BIS3_CUSTOMIZATION, BIS3_PROCESS, FR_CIUS_CUSTOMIZATION, is_french_customization
from gateway.formats.documents import read_document
from gateway.formats.ubl import write_ubl
from gateway.model.invoice import Invoice
from gateway.validation.pipeline import validate
from gateway.validation.report import Report

DOCUMENT_KIND = "ubl-peppol"  # the stored document kind (gateway.store.models.DOCUMENT_KINDS)
MAX_RULES_IN_MESSAGE = 20


@dataclass(frozen=True)
class PeppolDocument:
    profile: str  # "bis3" or "france"
    data: bytes
    report: Report

    @property
    def refusal(self) -> str:
        """Why it cannot be sent: each fatal rule id with its message (empty when valid)."""
        fatal = [f for f in self.report.findings if f.severity == "fatal"]
        shown = "; ".join(f"{f.rule_id or f.artefact}: {f.message}" for f in fatal[:MAX_RULES_IN_MESSAGE])
        more = f"; and {len(fatal) - MAX_RULES_IN_MESSAGE} more" if len(fatal) > MAX_RULES_IN_MESSAGE else ""
        name = "Peppol BIS Billing 3.0" if self.profile == "bis3" else "French Peppol CIUS"
        return f"the {name} UBL of this invoice fails {len(fatal)} rule(s) ({', '.join(self.report.artefacts)}): {shown}{more}" if fatal else ""


def profile_for(invoice: Invoice, configured: str) -> str:
    """`bis3` or `france` for this invoice under the configured profile (see the module docstring)."""
    if configured != "auto":
        return configured
    if is_french_customization(invoice.specification_id or ""):
        return "france"
    seller, buyer = invoice.seller.address, invoice.buyer.address
    both_french = seller is not None and buyer is not None and seller.country_code == buyer.country_code == "FR"
    return "france" if both_french else "bis3"


def write(invoice: Invoice, configured: str = "auto") -> tuple[str, bytes]:
    """The profile chosen and the invoice's Peppol UBL under it (not validated: see `build`)."""
    profile = profile_for(invoice, configured)
    if profile == "bis3":
        return profile, write_ubl(invoice, customization=BIS3_CUSTOMIZATION, profile=BIS3_PROCESS)
    own = invoice.specification_id or ""
    return profile, write_ubl(invoice, customization=own if is_french_customization(own) else FR_CIUS_CUSTOMIZATION)


def build(invoice: Invoice, configured: str = "auto") -> PeppolDocument:
    """Write the invoice's Peppol UBL and validate it (ArtefactError when a validator cannot run: never "valid")."""
    profile, data = write(invoice, configured)
    report = validate(read_document(data, "application/xml"), french=profile == "france", peppol=profile == "bis3")
    return PeppolDocument(profile, data, report)
