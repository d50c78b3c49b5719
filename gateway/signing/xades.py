"""XAdES baseline B-B signatures on UBL and CII invoices, with signxml.

UBL: the signature goes where the UBL 2.1 signature extension puts it:

    ext:UBLExtensions/ext:UBLExtension
      ext:ExtensionURI = urn:oasis:names:specification:ubl:dsig:enveloped:xades
      ext:ExtensionContent/sig:UBLDocumentSignatures/sac:SignatureInformation
        cbc:ID = urn:oasis:names:specification:ubl:signature:1
        sbc:ReferencedSignatureID = urn:oasis:names:specification:ubl:signature:Invoice
        ds:Signature …

with a document-level `cac:Signature` (cbc:ID = that ReferencedSignatureID) saying the invoice is
signed.  The CEN EN 16931 UBL rules warn about both (UBL-CR-001 "should not include extensions",
UBL-CR-137 "should not include the Signature"): warnings, never errors (DESIGN pitfall 10).
The UBL 2.1 schemas carry the XAdES 1.3.2 schema of 2010, which knows `xades:SigningCertificate`
but not the `SigningCertificateV2` of ETSI EN 319 132-1; a UBL signature therefore identifies its
certificate with `SigningCertificate` (SHA-256 digest and issuer/serial) so the invoice stays
schema-valid, while a CII signature uses `SigningCertificateV2`.

CII: enveloped, the ds:Signature as the last child of rsm:CrossIndustryInvoice.  The CII schemas
have no extension point, so a signed CII is not XSD-valid; validate `unsigned_xml(signed)`, the
document the signature covers.

Both: one reference to the whole document (URI "", enveloped-signature transform),
one to the XAdES SignedProperties (signing time, signing certificate, data object format), one to
the KeyInfo; RSA-SHA256 or ECDSA-SHA256; Canonical XML 1.1, which verifiers also apply to the
SignedProperties and KeyInfo references (they carry no Transforms).
"""

from __future__ import annotations

from base64 import b64encode

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.util import ds_tag, namespaces, xades_tag
from signxml.xades import XAdESDataObjectFormat, XAdESSigner

from gateway.errors import InputError, UnsupportedDocument
from gateway.formats.documents import SYNTAX_OF_ROOT, UBL_CBC_NS
from gateway.formats.xmlparse import parse_untrusted
from gateway.signing.keys import SigningKey, hash_algorithm

DS = namespaces.ds
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
SIG = "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2"
SAC = "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2"
SBC = "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
UBL_SIGNATURE_METHOD = "urn:oasis:names:specification:ubl:dsig:enveloped:xades"
UBL_SIGNATURE_INFORMATION_ID = "urn:oasis:names:specification:ubl:signature:1"
PLACEHOLDER_ID = "placeholder"  # signxml fills the ds:Signature element carrying this Id
# UBL root children that may come before cac:Signature (UBL 2.1 Invoice and CreditNote sequences).
BEFORE_SIGNATURE = {
    "UBLExtensions", "UBLVersionID", "CustomizationID", "ProfileID", "ProfileExecutionID", "ID", "CopyIndicator", "UUID", "IssueDate",
    "IssueTime", "DueDate", "InvoiceTypeCode", "CreditNoteTypeCode", "Note", "TaxPointDate", "DocumentCurrencyCode", "TaxCurrencyCode",
    "PricingCurrencyCode", "PaymentCurrencyCode", "PaymentAlternativeCurrencyCode", "AccountingCostCode", "AccountingCost", "LineCountNumeric",
    "BuyerReference", "InvoicePeriod", "DiscrepancyResponse", "OrderReference", "BillingReference", "DespatchDocumentReference",
    "ReceiptDocumentReference", "StatementDocumentReference", "OriginatorDocumentReference", "ContractDocumentReference",
    "AdditionalDocumentReference", "ProjectReference",
}  # fmt: skip


class _Signer(XAdESSigner):
    """signxml's XAdES signer; on UBL, `SigningCertificate` replaces `SigningCertificateV2` (see the module docstring)."""

    def __init__(self, key: SigningKey, *, legacy_certificate: bool) -> None:
        method = SignatureMethod.RSA_SHA256 if key.algorithm == "rsa" else SignatureMethod.ECDSA_SHA256
        super().__init__(
            data_object_format=XAdESDataObjectFormat(Description="Electronic invoice", MimeType="text/xml"),
            signature_algorithm=method,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_1,
        )
        self.legacy_certificate = legacy_certificate

    def add_signing_certificate(self, signed_signature_properties, sig_root, signing_settings) -> None:
        if not self.legacy_certificate:
            super().add_signing_certificate(signed_signature_properties, sig_root, signing_settings)
            return
        certificate: x509.Certificate = signing_settings.cert_chain[0]
        cert = etree.SubElement(etree.SubElement(signed_signature_properties, xades_tag("SigningCertificate")), xades_tag("Cert"))
        digest = etree.SubElement(cert, xades_tag("CertDigest"))
        etree.SubElement(digest, ds_tag("DigestMethod"), Algorithm=DigestAlgorithm.SHA256.value)
        etree.SubElement(digest, ds_tag("DigestValue")).text = b64encode(certificate.fingerprint(hashes.SHA256())).decode()
        issuer_serial = etree.SubElement(cert, xades_tag("IssuerSerial"))
        etree.SubElement(issuer_serial, ds_tag("X509IssuerName")).text = certificate.issuer.rfc4514_string()
        etree.SubElement(issuer_serial, ds_tag("X509SerialNumber")).text = str(certificate.serial_number)


class _SignxmlKey:
    """What signxml calls on a private key (`sign`, `key_size`, `public_key`), answered by a `SigningKey` (a token key too)."""

    def __init__(self, key: SigningKey) -> None:
        self._key = key
        self.key_size = key.key_size

    def public_key(self):
        return self._key.certificate.public_key()

    def sign(self, data: bytes, padding=None, algorithm=None, signature_algorithm=None) -> bytes:
        chosen = algorithm or signature_algorithm.algorithm  # RSA: (padding, algorithm); ECDSA: signature_algorithm=ECDSA(hash)
        return self._key.sign(data, hash_algorithm(chosen.name).name)


def sign_xml(data: bytes, key: SigningKey) -> bytes:
    """The UBL Invoice / CreditNote or CII invoice `data` with an enveloped XAdES B-B signature by `key`."""
    root = parse_untrusted(data).getroot()
    syntax = SYNTAX_OF_ROOT.get(root.tag)
    if syntax is None:
        raise UnsupportedDocument("Only a UBL Invoice / CreditNote or a CII CrossIndustryInvoice can be signed as XML.")
    if root.find(f".//{{{DS}}}Signature") is not None:
        raise InputError("The document already carries an XML signature; the gateway does not add a second one.")
    ubl = syntax != "cii"
    parent = _ubl_signature_slot(root) if ubl else root
    etree.SubElement(parent, ds_tag("Signature"), Id=PLACEHOLDER_ID, nsmap={"ds": DS})
    signed = _Signer(key, legacy_certificate=ubl).sign(root, key=_SignxmlKey(key), cert=[key.certificate, *key.chain], always_add_key_value=False)
    return _serialize(signed)


def _ubl_signature_slot(root: etree._Element) -> etree._Element:
    """Add the UBL signature extension and the document-level cac:Signature; the sac:SignatureInformation that will hold ds:Signature."""
    kind = etree.QName(root).localname
    referenced_id = f"urn:oasis:names:specification:ubl:signature:{kind}"
    extensions = root.find(f"{{{EXT}}}UBLExtensions")
    if extensions is None:
        extensions = etree.Element(f"{{{EXT}}}UBLExtensions", nsmap={"ext": EXT})
        root.insert(0, extensions)
    extension = etree.SubElement(extensions, f"{{{EXT}}}UBLExtension")
    etree.SubElement(extension, f"{{{EXT}}}ExtensionURI").text = UBL_SIGNATURE_METHOD
    content = etree.SubElement(extension, f"{{{EXT}}}ExtensionContent")
    signatures = etree.SubElement(content, f"{{{SIG}}}UBLDocumentSignatures", nsmap={"sig": SIG, "sac": SAC, "sbc": SBC})
    information = etree.SubElement(signatures, f"{{{SAC}}}SignatureInformation")
    etree.SubElement(information, f"{{{UBL_CBC_NS}}}ID", nsmap={"cbc": UBL_CBC_NS}).text = UBL_SIGNATURE_INFORMATION_ID
    etree.SubElement(information, f"{{{SBC}}}ReferencedSignatureID").text = referenced_id

    signature = etree.Element(f"{{{CAC}}}Signature", nsmap={"cac": CAC, "cbc": UBL_CBC_NS})
    etree.SubElement(signature, f"{{{UBL_CBC_NS}}}ID").text = referenced_id
    etree.SubElement(signature, f"{{{UBL_CBC_NS}}}SignatureMethod").text = UBL_SIGNATURE_METHOD
    position = next(
        (i for i, child in enumerate(root) if isinstance(child.tag, str) and etree.QName(child).localname not in BEFORE_SIGNATURE), len(root)
    )
    root.insert(position, signature)
    return information


def unsigned_xml(data: bytes) -> bytes:
    """The document as it was before `sign_xml`: without ds:Signature and, on UBL, without the signature extension and cac:Signature.

    Used to validate a signed CII against the schemas, which have no room for ds:Signature.
    """
    root = parse_untrusted(data).getroot()
    for signature in root.findall(f".//{{{DS}}}Signature"):
        _remove(signature)
    for extension in root.findall(f"{{{EXT}}}UBLExtensions/{{{EXT}}}UBLExtension"):
        if extension.findtext(f"{{{EXT}}}ExtensionURI") == UBL_SIGNATURE_METHOD:
            _remove(extension)
    extensions = root.find(f"{{{EXT}}}UBLExtensions")
    if extensions is not None and len(extensions) == 0:
        _remove(extensions)
    for signature in root.findall(f"{{{CAC}}}Signature"):
        if signature.findtext(f"{{{UBL_CBC_NS}}}SignatureMethod") == UBL_SIGNATURE_METHOD:
            _remove(signature)
    return _serialize(root)


def _serialize(root: etree._Element) -> bytes:
    """UTF-8 with a declaration and a final newline, as the gateway's writers do (so unsigned_xml(sign_xml(x)) == x for them)."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def _remove(element: etree._Element) -> None:
    """Remove an element, keeping the text that follows it (lxml drops an element's tail with it)."""
    parent = element.getparent()
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)
