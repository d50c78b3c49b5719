"""What Peppol needs to know about an invoice document: its document type, its process, who sends and receives.

Peppol derives the document type id from the document itself (root namespace, root element, BT-24
customization, syntax version), so the connector reads it from the bytes it is about to send rather than
trusting metadata.  UBL (Invoice / CreditNote) and CII are read; a Factur-X PDF cannot travel inside an SBD
as XML and is refused (send its UBL or CII form on Peppol).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from connectors.base import ConnectorError
from connectors.peppol.identifiers import CII_VERSION, UBL_VERSION, DocumentTypeId, IdentifierError, ParticipantId
from gateway.errors import InputError
from gateway.formats.documents import CII_RAM_NS, CII_RSM_NS, UBL_CBC_NS, read_document

UBL_CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"cbc": UBL_CBC_NS, "cac": UBL_CAC_NS, "rsm": CII_RSM_NS, "ram": CII_RAM_NS}

# XPaths per syntax: BT-23 process, BT-34 / BT-49 electronic addresses (with their schemeID), BT-40 seller country.
_PATHS = {
    "ubl": {
        "profile": "cbc:ProfileID",
        "seller": "cac:AccountingSupplierParty/cac:Party/cbc:EndpointID",
        "buyer": "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID",
        "country": "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode",
    },
    "cii": {
        "profile": "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID",
        "seller": "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/ram:URIUniversalCommunication/ram:URIID",
        "buyer": "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID",
        "country": "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/ram:PostalTradeAddress/ram:CountryID",
    },
}


@dataclass(frozen=True)
class DocumentFacts:
    """The parsed document root and the values the SBDH and the SMP look-up are built from."""

    root: etree._Element
    document_type: DocumentTypeId
    customization_id: str  # BT-24
    profile_id: str  # BT-23, "" when absent
    seller: ParticipantId | None  # BT-34
    buyer: ParticipantId | None  # BT-49
    seller_country: str  # BT-40, "" when absent


def describe(document: bytes, kind: str) -> DocumentFacts:
    """Read the facts from a UBL or CII document; ConnectorError (not transient) when Peppol cannot carry it."""
    if kind == "facturx":
        raise ConnectorError(
            "a Factur-X PDF cannot be sent inside a Peppol SBD; send the invoice's UBL or CII form on Peppol",
            transient=False,
            code="unsupported-document",
        )
    try:
        parsed = read_document(document)
    except InputError as exc:
        raise ConnectorError(f"the document to send on Peppol is not readable: {exc.message}", transient=False, code="invalid-document") from None
    if parsed.container != "xml":
        raise ConnectorError("a PDF cannot be sent inside a Peppol SBD; send UBL or CII", transient=False, code="unsupported-document")
    root = parsed.tree.getroot()
    syntax = "cii" if parsed.syntax == "cii" else "ubl"
    customization = (parsed.guideline_id or "").strip()
    if not customization:
        raise ConnectorError(
            "the document has no BT-24 customization id, so it has no Peppol document type", transient=False, code="invalid-document"
        )
    qname = etree.QName(root)
    version = CII_VERSION if syntax == "cii" else UBL_VERSION
    paths = _PATHS[syntax]
    return DocumentFacts(
        root=root,
        document_type=DocumentTypeId.build(qname.namespace or "", qname.localname, customization, version),
        customization_id=customization,
        profile_id=_text(root, paths["profile"]),
        seller=_participant(root, paths["seller"]),
        buyer=_participant(root, paths["buyer"]),
        seller_country=_text(root, paths["country"]).upper(),
    )


def _text(root: etree._Element, path: str) -> str:
    found = root.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def _participant(root: etree._Element, path: str) -> ParticipantId | None:
    """The electronic address as a Peppol participant, or None when absent or not one (e.g. scheme EM, an e-mail)."""
    found = root.find(path, NS)
    if found is None or not (found.text or "").strip():
        return None
    try:
        return ParticipantId.parse(f"{found.get('schemeID', '')}:{found.text.strip()}")
    except IdentifierError:
        return None
