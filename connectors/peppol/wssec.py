"""WS-Security 1.1 for the Peppol AS4 profile: the XML signature over SOAP parts and attachments, and attachment encryption.

The profile fixes every algorithm (Peppol AS4 profile 2.0, REGULATION §5.4), so this module implements exactly that
set and refuses anything else when verifying: exclusive c14n, RSA-SHA256 (PKCS#1 v1.5), SHA-256 digests, SwA
`Attachment-Content-Signature-Transform` for attachments (the digest of the attachment's octets), AES-128-GCM for
the attachment under an RSA-OAEP (MGF1-SHA256, SHA-256) transported key.

Why not signxml / xmlsec: neither resolves SwA `cid:` attachment references (peppol-py works around it by
hand-building the SignedInfo too), and peppol-py encrypts with an `xmlsec1` >= 1.3 binary because of AES-GCM
(Debian bookworm ships 1.2.37).  The primitives come from `cryptography` and the canonicalisation from lxml
(libxml2's exclusive c14n), so nothing cryptographic is written here.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSSE11 = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
EC = "http://www.w3.org/2001/10/xml-exc-c14n#"

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ATTACHMENT_CONTENT_SIGNATURE = "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Content-Signature-Transform"
ATTACHMENT_CONTENT_ONLY = "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Content-Only"
ATTACHMENT_CIPHERTEXT = "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Ciphertext-Transform"
AES128_GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
RSA_OAEP = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
MGF1_SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
X509_V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64_BINARY = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
ENCRYPTED_KEY_TOKEN = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKey"

NSMAP = {"ds": DS, "xenc": XENC, "xenc11": XENC11, "wsse": WSSE, "wsse11": WSSE11, "wsu": WSU, "ec": EC}
WSU_ID = f"{{{WSU}}}Id"


class SecurityError(Exception):
    """A signature or a ciphertext that does not hold, or uses something outside the Peppol AS4 profile."""


@dataclass(frozen=True)
class SignedReference:
    """One `ds:Reference` as signed: what a non-repudiation receipt must give back unchanged."""

    uri: str
    digest: str  # base64 SHA-256


def digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def canonical(element: etree._Element, inclusive_prefixes: Iterable[str] = ()) -> bytes:
    """Exclusive c14n of `element` in its document (ancestors' namespaces it uses are carried along)."""
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=list(inclusive_prefixes) or None)


def element(parent: etree._Element | None, ns: str, name: str, text: str | None = None, /, **attributes: str) -> etree._Element:
    """A namespaced element (attributes given as {ns}name or plain names), appended to `parent` when there is one."""
    tag = f"{{{ns}}}{name}"
    node = etree.Element(tag, attributes, nsmap=NSMAP) if parent is None else etree.SubElement(parent, tag, attributes)
    if text is not None:
        node.text = text
    return node


def binary_security_token(security: etree._Element, certificate: x509.Certificate, token_id: str) -> etree._Element:
    der = certificate.public_bytes(serialization.Encoding.DER)
    token = element(security, WSSE, "BinarySecurityToken", base64.b64encode(der).decode("ascii"), EncodingType=BASE64_BINARY, ValueType=X509_V3)
    token.set(WSU_ID, token_id)
    return token


def _reference(signed_info: etree._Element, uri: str, transform: str, value: str) -> None:
    reference = element(signed_info, DS, "Reference", URI=uri)
    element(element(reference, DS, "Transforms"), DS, "Transform", Algorithm=transform)
    element(reference, DS, "DigestMethod", Algorithm=SHA256)
    element(reference, DS, "DigestValue", value)


def sign(
    security: etree._Element,
    parts: Iterable[etree._Element],
    attachments: dict[str, bytes],
    key: rsa.RSAPrivateKey,
    token: etree._Element,
) -> list[SignedReference]:
    """Append a `ds:Signature` to `security` over `parts` (each carrying a wsu:Id) and the attachments (cid → octets).

    The signature is computed once the SignedInfo sits in the document, so its canonical form is the one a receiver
    computes from the bytes on the wire."""
    signature = element(security, DS, "Signature")
    signed_info = element(signature, DS, "SignedInfo")
    element(signed_info, DS, "CanonicalizationMethod", Algorithm=EXC_C14N)
    element(signed_info, DS, "SignatureMethod", Algorithm=RSA_SHA256)
    signed: list[SignedReference] = []
    for part in parts:
        uri, value = f"#{part.get(WSU_ID)}", digest(canonical(part))
        _reference(signed_info, uri, EXC_C14N, value)
        signed.append(SignedReference(uri, value))
    for content_id, content in attachments.items():
        uri, value = f"cid:{content_id}", digest(content)
        _reference(signed_info, uri, ATTACHMENT_CONTENT_SIGNATURE, value)
        signed.append(SignedReference(uri, value))
    value = key.sign(canonical(signed_info), padding.PKCS1v15(), hashes.SHA256())
    element(signature, DS, "SignatureValue", base64.b64encode(value).decode("ascii"))
    _token_reference(element(signature, DS, "KeyInfo"), token)
    return signed


def _token_reference(key_info: etree._Element, token: etree._Element) -> None:
    """A direct reference to a BinarySecurityToken, the key identifier the Peppol AS4 profile uses for both keys."""
    element(element(key_info, WSSE, "SecurityTokenReference"), WSSE, "Reference", URI=f"#{token.get(WSU_ID)}", ValueType=X509_V3)


def verify(root: etree._Element, signature: etree._Element, certificate: x509.Certificate) -> list[etree._Element]:
    """Check `signature` (inside `root`) with `certificate`; return the elements it signs.

    Only same-document references are accepted here (a receipt signs SOAP parts, not attachments), each target is
    found by its wsu:Id and must be unique, so a wrapped duplicate cannot stand in for the signed element."""
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    value = signature.findtext(f"{{{DS}}}SignatureValue")
    if signed_info is None or not value:
        raise SecurityError("the signature has no SignedInfo or SignatureValue")
    method = signed_info.find(f"{{{DS}}}CanonicalizationMethod")
    if method is None or method.get("Algorithm") != EXC_C14N:
        raise SecurityError("the signature is not canonicalised with exclusive c14n")
    algorithm = signed_info.find(f"{{{DS}}}SignatureMethod")
    if algorithm is None or algorithm.get("Algorithm") != RSA_SHA256:
        raise SecurityError(f"signature algorithm {None if algorithm is None else algorithm.get('Algorithm')!r} is not RSA-SHA256")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SecurityError("the signing certificate does not hold an RSA key")
    try:
        public_key.verify(base64.b64decode(value), canonical(signed_info, _prefixes(method)), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise SecurityError(f"the signature does not verify with {certificate.subject.rfc4514_string()}") from exc
    by_id: dict[str, list[etree._Element]] = {}
    for node in root.iter():
        for name, attribute in node.attrib.items():
            if etree.QName(name).localname == "Id":
                by_id.setdefault(attribute, []).append(node)
    signed: list[etree._Element] = []
    for reference in signed_info.iterfind(f"{{{DS}}}Reference"):
        uri = reference.get("URI", "")
        transforms = reference.findall(f"{{{DS}}}Transforms/{{{DS}}}Transform")
        if not uri.startswith("#") or len(transforms) != 1 or transforms[0].get("Algorithm") != EXC_C14N:
            raise SecurityError(f"reference {uri!r} is not a same-document exclusive-c14n reference")
        if reference.find(f"{{{DS}}}DigestMethod[@Algorithm='{SHA256}']") is None:
            raise SecurityError(f"reference {uri!r} is not digested with SHA-256")
        targets = by_id.get(uri[1:], [])
        if len(targets) != 1:
            raise SecurityError(f"reference {uri!r} names {len(targets)} elements, not one")
        expected = (reference.findtext(f"{{{DS}}}DigestValue") or "").strip()
        if digest(canonical(targets[0], _prefixes(transforms[0]))) != expected:
            raise SecurityError(f"the digest of {uri!r} does not match: the signed element was changed")
        signed.append(targets[0])
    return signed


def _prefixes(parent: etree._Element) -> list[str]:
    inclusive = parent.find(f"{{{EC}}}InclusiveNamespaces")
    return (inclusive.get("PrefixList") or "").split() if inclusive is not None else []


def encrypt_attachment(security: etree._Element, content_id: str, plaintext: bytes, recipient: x509.Certificate, mime_type: str) -> bytes:
    """Encrypt one attachment for `recipient`: add EncryptedKey + EncryptedData to `security`, return the ciphertext part.

    The ciphertext is IV (12 bytes) ‖ AES-128-GCM output ‖ tag, the XML Encryption 1.1 layout."""
    public_key = recipient.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SecurityError("the receiving access point's certificate does not hold an RSA key")
    session_key = AESGCM.generate_key(bit_length=128)
    iv = os.urandom(12)
    ciphertext = iv + AESGCM(session_key).encrypt(iv, plaintext, None)
    wrapped = public_key.encrypt(session_key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    local = content_id.split("@")[0]  # wsu:Id values are NCNames: no "@"
    key_id, data_id = f"EK-{local}", f"ED-{local}"
    token = binary_security_token(security, recipient, f"X509-{local}")
    encrypted_key = element(security, XENC, "EncryptedKey", Id=key_id)
    method = element(encrypted_key, XENC, "EncryptionMethod", Algorithm=RSA_OAEP)
    element(method, DS, "DigestMethod", Algorithm=SHA256)
    element(method, XENC11, "MGF", Algorithm=MGF1_SHA256)
    _token_reference(element(encrypted_key, DS, "KeyInfo"), token)
    element(element(encrypted_key, XENC, "CipherData"), XENC, "CipherValue", base64.b64encode(wrapped).decode("ascii"))
    element(element(encrypted_key, XENC, "ReferenceList"), XENC, "DataReference", URI=f"#{data_id}")
    encrypted_data = element(security, XENC, "EncryptedData", Id=data_id, MimeType=mime_type, Type=ATTACHMENT_CONTENT_ONLY)
    element(encrypted_data, XENC, "EncryptionMethod", Algorithm=AES128_GCM)
    token_reference = element(element(encrypted_data, DS, "KeyInfo"), WSSE, "SecurityTokenReference")
    token_reference.set(f"{{{WSSE11}}}TokenType", ENCRYPTED_KEY_TOKEN)
    element(token_reference, WSSE, "Reference", URI=f"#{key_id}")
    cipher_reference = element(element(encrypted_data, XENC, "CipherData"), XENC, "CipherReference", URI=f"cid:{content_id}")
    element(element(cipher_reference, XENC, "Transforms"), DS, "Transform", Algorithm=ATTACHMENT_CIPHERTEXT)
    return ciphertext
