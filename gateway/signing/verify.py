"""Verify the signatures of a received document: XAdES / XMLDSig in XML, PAdES (CMS) in PDF.

For each signature the report says who signed (the certificate's subject), when they say they
signed, the RFC 3161 time-stamp when there is one, whether the signed content is intact, and the
certificate's chain status:

- trusted      the certificate chains to one of the configured trust roots and is valid now;
- self-signed  the certificate is its own issuer and is not a configured root;
- unknown      no path to a configured root (an issuer we do not know);
- invalid      a path exists but fails: expired, not yet valid, bad signature, wrong usage.

Intact means: the signature value verifies with the certificate's key, every signed digest matches,
and the signature covers the whole document (an XML reference to the whole document, URI "";
a PDF signature over the whole file, or followed only by further signatures and time-stamps).
Revocation is not checked (no network): a revoked certificate still shows "trusted".
"""

from __future__ import annotations

import asyncio
import io
import logging
from base64 import b64decode
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography import x509
from lxml import etree
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError
from signxml import SignatureConfiguration, XMLVerifier
from signxml.exceptions import SignXMLException
from signxml.util import namespaces
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from gateway.errors import DocumentTooLarge, MalformedDocument, UnsupportedDocument
from gateway.formats.xmlparse import MAX_XML_BYTES, parse_untrusted
from gateway.signing.pades import to_asn1

# pyHanko logs a warning with a traceback for every certificate without a path to a trust root; the report says it instead.
logging.getLogger("pyhanko.sign.validation.generic_cms").setLevel(logging.ERROR)

ChainStatus = Literal["trusted", "self-signed", "unknown", "invalid"]
DS = namespaces.ds
XADES = namespaces.xades
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
BENIGN_PDF_UPDATES = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)


@dataclass
class SignatureInfo:
    """One signature of a document, verified."""

    format: Literal["xades", "xmldsig", "pades"]
    intact: bool
    chain: ChainStatus
    chain_message: str
    signer: str | None = None  # subject of the signing certificate (RFC 4514)
    issuer: str | None = None
    serial_number: str | None = None
    certificate_not_after: datetime | None = None
    signing_time: datetime | None = None  # claimed by the signer (XAdES SigningTime, CMS signingTime)
    timestamp: datetime | None = None  # from a verified RFC 3161 signature time-stamp (PAdES B-T)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("certificate_not_after", "signing_time", "timestamp"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass
class Verification:
    """The signatures found in a document.  `intact`: signed, and every signature intact."""

    container: Literal["xml", "pdf"]
    signatures: list[SignatureInfo]

    @property
    def signed(self) -> bool:
        return bool(self.signatures)

    @property
    def intact(self) -> bool:
        return self.signed and all(s.intact for s in self.signatures)

    def to_dict(self) -> dict[str, Any]:
        return {"signed": self.signed, "intact": self.intact, "container": self.container, "signatures": [s.to_dict() for s in self.signatures]}


def is_pdf(data: bytes) -> bool:
    """A PDF by content, as `formats.documents.read_document` decides (the header may follow up to 1 KB of junk)."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"<" and b"%PDF-" in data[:1024]


def verify_document(data: bytes, trust_roots: list[x509.Certificate] | tuple[x509.Certificate, ...] = ()) -> Verification:
    """Verify every signature of an XML or PDF document against `trust_roots`; an InputError when it is neither."""
    if len(data) > MAX_XML_BYTES:
        raise DocumentTooLarge(f"Document of {len(data)} bytes exceeds the limit of {MAX_XML_BYTES} bytes.")
    if is_pdf(data):
        return Verification("pdf", _verify_pdf(data, list(trust_roots)))
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"<":
        raise UnsupportedDocument("Neither XML nor PDF: only signed XML (XAdES, XMLDSig) and PDF (PAdES) documents are verified.")
    return Verification("xml", _verify_xml(parse_untrusted(data).getroot(), list(trust_roots)))


# ---------------------------------------------------------------------------- chain status


def chain_status(certificate: x509.Certificate, others: list[x509.Certificate], roots: list[x509.Certificate]) -> tuple[ChainStatus, str]:
    """The certificate's standing against `roots` (see the module docstring), with a sentence saying why."""
    if certificate.issuer == certificate.subject and certificate not in roots:
        return "self-signed", "The certificate is self-signed and is not a configured trust root."
    if roots:
        context = ValidationContext(trust_roots=[to_asn1(r) for r in roots], allow_fetching=False, revocation_mode="soft-fail")
        validator = CertificateValidator(to_asn1(certificate), intermediate_certs=[to_asn1(c) for c in others], validation_context=context)
        try:
            path = asyncio.run(validator.async_validate_usage(set()))
        except PathBuildingError:
            pass  # no path to a configured root
        except (PathValidationError, ValidationError) as exc:
            return "invalid", f"The certificate does not validate against the trusted roots: {exc}"
        else:
            anchor = path.trust_anchor.authority.name.human_friendly if path.trust_anchor else "a trusted root"
            return "trusted", f"Chains to the trusted root {anchor}."
    return "unknown", f"No path to a configured trust root (issuer: {certificate.issuer.rfc4514_string()})."


def _leaf(certificates: list[x509.Certificate]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The end-entity certificate of a set (the one that issued none of the others), and the others."""
    issuers = {c.issuer for c in certificates if c.issuer != c.subject}
    leaf = next((c for c in certificates if c.subject not in issuers), certificates[0])
    return leaf, [c for c in certificates if c is not leaf]


def _signature_info(
    kind, intact: bool, leaf: x509.Certificate, others: list[x509.Certificate], roots: list[x509.Certificate], **details
) -> SignatureInfo:
    status, message = chain_status(leaf, others, roots)
    return SignatureInfo(
        kind,
        intact,
        status,
        message,
        signer=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        serial_number=format(leaf.serial_number, "x"),
        certificate_not_after=leaf.not_valid_after_utc,
        **details,
    )


# ---------------------------------------------------------------------------- XML


def _verify_xml(root: etree._Element, roots: list[x509.Certificate]) -> list[SignatureInfo]:
    signatures = root.findall(f".//{{{DS}}}Signature") if root.tag != f"{{{DS}}}Signature" else [root]
    if not signatures:
        return []
    signature = signatures[0]
    problems = [f"Only the first of {len(signatures)} XML signatures is verified."] if len(signatures) > 1 else []
    kind = "xades" if signature.find(f".//{{{XADES}}}SignedProperties") is not None else "xmldsig"
    try:
        certificates = [
            x509.load_der_x509_certificate(b64decode(e.text or ""))
            for e in signature.iterfind(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
        ]
    except ValueError as exc:
        return [
            SignatureInfo(kind, False, "unknown", "The signing certificate cannot be read.", problems=[*problems, f"Unreadable certificate: {exc}"])
        ]
    if not certificates:
        return [
            SignatureInfo(
                kind, False, "unknown", "The signature carries no X.509 certificate.", problems=[*problems, "No certificate to verify with."]
            )
        ]
    leaf, others = _leaf(certificates)
    signing_time = _xades_signing_time(signature)
    intact = _xml_intact(root, signature, kind, leaf, signing_time, problems)
    return [_signature_info(kind, intact, leaf, others, roots, signing_time=signing_time, problems=problems)]


def _xml_intact(root, signature, kind: str, leaf: x509.Certificate, signing_time: datetime | None, problems: list[str]) -> bool:
    """Whether the signature verifies and covers the whole document; why not, in `problems`.

    The certificate's validity is checked at the claimed signing time: an expired certificate is a
    chain problem, not a sign that the content changed.
    """
    at = signing_time or datetime.now(UTC)
    try:
        if kind == "xades":
            XAdESVerifier().verify(root, x509_cert=leaf, expect_config=XAdESSignatureConfiguration(expect_references=True, verification_time=at))
        else:
            XMLVerifier().verify(root, x509_cert=leaf, expect_config=SignatureConfiguration(expect_references=True, verification_time=at))
    except (SignXMLException, etree.LxmlError, ValueError) as exc:
        problems.append(f"The signature does not verify: {exc}")
        return False
    for reference in signature.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference"):
        transforms = {t.get("Algorithm") for t in reference.iterfind(f"{{{DS}}}Transforms/{{{DS}}}Transform")}
        if reference.get("URI") == "" and ENVELOPED in transforms:
            return True
    problems.append('The signature does not cover the whole document (no enveloped reference with URI "").')
    return False


def _xades_signing_time(signature: etree._Element) -> datetime | None:
    text = signature.findtext(f".//{{{XADES}}}SignedSignatureProperties/{{{XADES}}}SigningTime")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


# ---------------------------------------------------------------------------- PDF


def _verify_pdf(data: bytes, roots: list[x509.Certificate]) -> list[SignatureInfo]:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            raise UnsupportedDocument("Encrypted PDF: signatures of encrypted PDFs are not verified.")
        embedded = reader.embedded_regular_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise MalformedDocument(f"Unreadable PDF: {exc}") from None
    context = ValidationContext(trust_roots=[to_asn1(r) for r in roots], allow_fetching=False, revocation_mode="soft-fail")
    return [_verify_pdf_signature(signature, context, roots) for signature in embedded]


def _verify_pdf_signature(signature, context: ValidationContext, roots: list[x509.Certificate]) -> SignatureInfo:
    problems: list[str] = []
    try:
        leaf = x509.load_der_x509_certificate(signature.signer_cert.dump())
        others = [x509.load_der_x509_certificate(c.dump()) for c in signature.other_embedded_certs]
    except (SignatureValidationError, ValueError, KeyError) as exc:
        return SignatureInfo("pades", False, "unknown", "The signature's certificate cannot be read.", problems=[f"Unreadable signature: {exc}"])
    try:
        status = validate_pdf_signature(signature, signer_validation_context=context)
    except Exception as exc:  # pyHanko raises many types on a damaged CMS or PDF structure; each means "does not verify"
        problems.append(f"The signature cannot be validated: {type(exc).__name__}: {exc}")
        return _signature_info("pades", False, leaf, others, roots, problems=problems)
    intact = status.intact and status.valid
    if not intact:
        problems.append("The signed bytes or the signature value do not match (the document was changed after signing).")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE and status.modification_level not in BENIGN_PDF_UPDATES:
        intact = False
        problems.append(f"The document was modified after signing ({status.modification_level.name if status.modification_level else 'unclear'}).")
    timestamp = None
    if status.timestamp_validity is not None:
        if status.timestamp_validity.intact and status.timestamp_validity.valid:
            timestamp = status.timestamp_validity.timestamp
        else:
            intact = False
            problems.append("The signature time-stamp does not verify.")
    return _signature_info("pades", intact, leaf, others, roots, signing_time=status.signer_reported_dt, timestamp=timestamp, problems=problems)
