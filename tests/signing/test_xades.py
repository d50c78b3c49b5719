"""XAdES on UBL and CII: still valid for the official artefacts, verifiable, and any change after signing is caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

from gateway.errors import InputError, UnsupportedDocument
from gateway.formats.documents import read_document
from gateway.formats.ubl import write_ubl
from gateway.signing.keys import SoftwareKey, load_pem
from gateway.signing.verify import verify_document
from gateway.signing.xades import sign_xml, unsigned_xml
from gateway.validation.pipeline import validate
from gateway.validation.xsd import check_xsd
from tests.signing.conftest import Pki, completed, flip

NS = {
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "sig": "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2",
    "sac": "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2",
    "sbc": "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xades": "http://uri.etsi.org/01903/v1.3.2#",
}


@pytest.fixture(scope="module")
def signed_ubl(ubl: bytes, pem_key) -> bytes:
    return sign_xml(ubl, pem_key)


def test_signed_ubl_passes_the_official_artefacts_with_warnings_only(signed_ubl: bytes) -> None:
    report = validate(read_document(signed_ubl))
    assert report.fatal_count == 0, [f for f in report.findings if f.severity == "fatal"]
    assert {f.rule_id for f in report.findings} <= {"UBL-CR-001", "UBL-CR-137"}  # extensions, cac:Signature: warnings (DESIGN pitfall 10)
    assert "UBL-CR-001" in {f.rule_id for f in report.findings}


def test_signed_credit_note_passes_the_official_artefacts(pem_key) -> None:
    signed = sign_xml(write_ubl(completed("credit-note-fr-b2b")), pem_key)
    report = validate(read_document(signed))
    assert read_document(signed).syntax == "ubl-creditnote" and report.fatal_count == 0


def test_the_signature_sits_in_the_ubl_signature_extension(signed_ubl: bytes) -> None:
    root = etree.fromstring(signed_ubl)
    assert etree.QName(root[0]).localname == "UBLExtensions"  # the first child, as the schema orders it
    extension = root.find("ext:UBLExtensions/ext:UBLExtension", NS)
    assert extension.findtext("ext:ExtensionURI", namespaces=NS) == "urn:oasis:names:specification:ubl:dsig:enveloped:xades"
    information = extension.find("ext:ExtensionContent/sig:UBLDocumentSignatures/sac:SignatureInformation", NS)
    assert information.findtext("cbc:ID", namespaces=NS) == "urn:oasis:names:specification:ubl:signature:1"
    referenced = information.findtext("sbc:ReferencedSignatureID", namespaces=NS)
    assert referenced == "urn:oasis:names:specification:ubl:signature:Invoice"
    assert root.findtext("cac:Signature/cbc:ID", namespaces=NS) == referenced
    assert etree.QName(root.find("cac:Signature", NS).getnext()).localname == "AccountingSupplierParty"
    signature = information.find("ds:Signature", NS)
    properties = signature.find("ds:Object/xades:QualifyingProperties/xades:SignedProperties/xades:SignedSignatureProperties", NS)
    assert properties.find("xades:SigningTime", NS) is not None
    assert properties.find("xades:SigningCertificate/xades:Cert/xades:CertDigest", NS) is not None  # the UBL 2.1 XAdES schema knows no V2
    assert signature.find("ds:SignedInfo/ds:Reference", NS).get("URI") == ""


def test_signed_ubl_verifies_with_every_key_store(ubl: bytes, any_key, pki: Pki) -> None:
    verification = verify_document(sign_xml(ubl, any_key), pki.roots)
    assert verification.intact and verification.container == "xml"
    (info,) = verification.signatures
    assert (info.format, info.chain, info.problems) == ("xades", "trusted", [])
    assert info.signer == pki.certificate.subject.rfc4514_string()
    assert abs(info.signing_time - datetime.now(UTC)) < timedelta(minutes=5)
    assert unsigned_xml(sign_xml(ubl, any_key)) == ubl  # the signature adds, and changes nothing


def test_one_flipped_byte_anywhere_in_the_invoice_is_caught(signed_ubl: bytes, pki: Pki) -> None:
    """Every byte outside the signature is covered: a flip is unreadable XML, or a signature that no longer verifies."""
    start, end = signed_ubl.index(b"?>") + 2, signed_ubl.index(b"<ds:Signature ")
    after = signed_ubl.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    positions = [*range(start, end, 97), *range(after, len(signed_ubl) - 1, 97)]
    assert len(positions) > 80
    for index in positions:
        try:
            verification = verify_document(flip(signed_ubl, index), pki.roots)
        except InputError:
            continue  # no longer well-formed XML
        assert not verification.intact, f"flip at {index} ({signed_ubl[index - 20 : index + 20]!r}) went unnoticed"
        assert verification.signatures[0].problems


@pytest.mark.parametrize("marker", [b"<cbc:ID>", b"<xades:SigningTime>", b"<ds:SignatureValue>", b"<ds:X509Certificate>"])
def test_a_flip_in_content_properties_value_or_certificate_breaks_the_signature(signed_ubl: bytes, pki: Pki, marker: bytes) -> None:
    index = signed_ubl.index(marker) + len(marker) + 5
    verification = verify_document(flip(signed_ubl, index), pki.roots)
    assert verification.signed and not verification.intact
    assert verification.signatures[0].problems[0].startswith(("The signature does not verify", "Unreadable certificate"))


def test_signed_cii_verifies_and_unsigns_to_the_original(cii: bytes, pem_key, pki: Pki) -> None:
    signed = sign_xml(cii, pem_key)
    verification = verify_document(signed, pki.roots)
    assert verification.intact and verification.signatures[0].chain == "trusted"
    assert not verify_document(flip(signed, signed.index(b"F2026-000142") + 4), pki.roots).intact
    assert unsigned_xml(signed) == cii
    # The CII schemas have no room for ds:Signature: the signed CII fails the XSD on that element alone (documented in xades.py).
    findings = check_xsd(read_document(signed))
    assert len(findings) == 1 and "xmldsig#}Signature" in findings[0].message
    properties = etree.fromstring(signed).find(
        "ds:Signature/ds:Object/xades:QualifyingProperties/xades:SignedProperties/xades:SignedSignatureProperties", NS
    )
    assert properties.find("xades:SigningCertificateV2", NS) is not None


def test_an_ec_key_signs_with_ecdsa(ubl: bytes, pki_ec: Pki) -> None:
    signed = sign_xml(ubl, load_pem(pki_ec / "signing.key", pki_ec / "chain.pem"))
    assert b"xmldsig-more#ecdsa-sha256" in signed
    assert verify_document(signed, pki_ec.roots).intact


def test_chain_status_trusted_unknown_self_signed_invalid(signed_ubl: bytes, ubl: bytes, pki: Pki, pki_ec: Pki) -> None:
    assert verify_document(signed_ubl, pki.roots).signatures[0].chain == "trusted"
    unknown = verify_document(signed_ubl, pki_ec.roots).signatures[0]
    assert (unknown.intact, unknown.chain) == (True, "unknown")
    assert verify_document(signed_ubl).signatures[0].chain == "unknown"

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Self-signed seller")])
    now = datetime.now(UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(7)
    self_signed = builder.not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9)).sign(key, hashes.SHA256())
    info = verify_document(sign_xml(ubl, SoftwareKey(key, self_signed, [], "test")), pki.roots).signatures[0]
    assert (info.intact, info.chain) == (True, "self-signed")

    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    expired = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(pki.roots[0].subject)
        .public_key(key.public_key())
        .serial_number(8)
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now - timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    info = verify_document(sign_xml(ubl, SoftwareKey(key, expired, pki.roots, "test")), pki.roots).signatures[0]
    assert info.chain == "invalid" and "expired" in info.chain_message
    assert not info.intact  # signed after the certificate's end: the signature itself is refused


def test_a_signature_over_part_of_the_document_is_not_intact(pki: Pki) -> None:
    root = etree.fromstring(b'<doc><part Id="covered">signed</part><amount>100.00</amount></doc>')
    signed = XMLSigner().sign(root, key=(pki / "signing.key").read_bytes(), cert=[pki.certificate], reference_uri=["#covered"])
    data = etree.tostring(signed).replace(b"100.00", b"999.00")
    info = verify_document(data, pki.roots).signatures[0]
    assert info.format == "xmldsig" and not info.intact
    assert "does not cover the whole document" in info.problems[0]


def test_unsigned_and_unsupported_documents(ubl: bytes, pem_key) -> None:
    assert not verify_document(ubl).signed and not verify_document(ubl).intact
    with pytest.raises(UnsupportedDocument):
        verify_document(b'{"not": "a document"}')
    with pytest.raises(InputError, match="already carries an XML signature"):
        sign_xml(sign_xml(ubl, pem_key), pem_key)
    with pytest.raises(UnsupportedDocument):
        sign_xml(b"<order/>", pem_key)
