"""Peppol AS4 sending (corner C2 → C3): the ebMS 3.0 UserMessage of the Peppol AS4 profile, and the signal it gets back.

One-way push over HTTPS (REGULATION §5.4): a MIME multipart/related request whose first part is the SOAP 1.2
envelope and whose one attachment is the SBD, gzip-compressed then AES-128-GCM encrypted for the receiving access
point's certificate (from its SMP registration).  The envelope is signed over `eb:Messaging`, the SOAP Body and the
compressed attachment; the receiving access point answers synchronously with a signed non-repudiation Receipt
(whose references must repeat our digests) or an ebMS Error signal.

The AS4 MessageId is derived from the delivery's idempotency key, like the SBDH InstanceIdentifier: a retry after a
crash resends the same MessageId, which the receiving access point's duplicate elimination recognises.
"""

from __future__ import annotations

import base64
import gzip
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from connectors.peppol import wssec
from connectors.peppol.identifiers import DOCUMENT_SCHEME, PARTICIPANT_SCHEME, PROCESS_SCHEME
from connectors.peppol.pki import common_name
from connectors.peppol.sbdh import Header
from gateway.errors import InputError
from gateway.formats.xmlparse import parse_untrusted

SOAP = "http://www.w3.org/2003/05/soap-envelope"
EB = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
EBBP = "http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0"
AP_PARTY_TYPE = "urn:fdc:peppol.eu:2017:identifiers:ap"
AGREEMENT = "urn:fdc:peppol.eu:2017:agreements:tia:ap_provider"
INITIATOR = f"{EB}initiator"
RESPONDER = f"{EB}responder"
DEFAULT_ROLE = f"{EB}defaultRole"
MAX_SIGNAL_BYTES = 1024 * 1024
NS = {"S12": SOAP, "eb": EB, "ebbp": EBBP, "ds": wssec.DS, "wsse": wssec.WSSE, "wsu": wssec.WSU}


class As4Error(Exception):
    """An answer that is not a usable ebMS signal for our message (unreadable, unsigned, about another message …)."""


@dataclass(frozen=True)
class Credential:
    """An access point's certificate and private key; the certificate's CN is its Peppol seat id (eb:PartyId)."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def party_id(self) -> str:
        return common_name(self.certificate.subject)

    @classmethod
    def load(cls, certificate: str | bytes, key: str | bytes, password: str = "") -> Credential:
        """PEM text or file paths; ValueError naming what does not fit (not RSA, key of another certificate)."""
        cert = x509.load_pem_x509_certificate(_pem(certificate))
        private = serialization.load_pem_private_key(_pem(key), password.encode() or None)
        public = cert.public_key()
        if not isinstance(private, rsa.RSAPrivateKey) or not isinstance(public, rsa.RSAPublicKey):
            raise ValueError("the access point key must be an RSA key (Peppol AS4 signs with RSA-SHA256)")
        if private.public_key().public_numbers() != public.public_numbers():
            raise ValueError(f"the access point key does not belong to the certificate {common_name(cert.subject)!r}")
        return cls(cert, private)


def _pem(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return value.encode("ascii") if "-----BEGIN" in value else Path(value).read_bytes()


@dataclass(frozen=True)
class UserMessage:
    """A built request: the HTTP body and Content-Type, and the references a receipt must acknowledge."""

    message_id: str
    body: bytes
    content_type: str
    signed: tuple[wssec.SignedReference, ...]


@dataclass(frozen=True)
class SignalError:
    """One `eb:Error` of an error signal."""

    code: str  # EBMS:0004 …, or PEPPOL:NOT_SERVICED in the detail
    severity: str  # "failure" or "warning"
    short_description: str
    detail: str

    def __str__(self) -> str:
        return " ".join(part for part in (self.code, self.short_description, self.detail) if part)


@dataclass(frozen=True)
class Signal:
    """What the receiving access point answered: a verified receipt, or errors."""

    receipt: bool
    errors: tuple[SignalError, ...]
    signer: str  # CN of the certificate that signed the signal ("" for an unsigned error signal)
    raw: bytes


def message_id_for(key: str) -> str:
    """An RFC 2822 style id (without angle brackets, as ebMS wants it) that is the same on every retry of a delivery."""
    return f"{uuid.uuid5(uuid.NAMESPACE_URL, f'urn:pdp-gateway:peppol:as4:{key}')}@pdp-gateway"


def build_user_message(sbd: bytes, header: Header, *, sender: Credential, receiver: x509.Certificate, message_id: str, at: datetime) -> UserMessage:
    """The signed and encrypted AS4 request carrying `sbd` from our access point to the receiver's."""
    content_id = f"{uuid.uuid5(uuid.NAMESPACE_URL, message_id)}@pdp-gateway"
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"S12": SOAP, "eb": EB, **wssec.NSMAP})
    soap_header = etree.SubElement(envelope, f"{{{SOAP}}}Header")
    messaging = _user_messaging(soap_header, header, sender.party_id, common_name(receiver.subject), message_id, content_id, at)
    security = etree.SubElement(soap_header, f"{{{wssec.WSSE}}}Security", {f"{{{SOAP}}}mustUnderstand": "true"})
    body = etree.SubElement(envelope, f"{{{SOAP}}}Body", {wssec.WSU_ID: "body"})
    token = wssec.binary_security_token(security, sender.certificate, "signer-token")
    compressed = gzip.compress(sbd, mtime=0)
    ciphertext = wssec.encrypt_attachment(security, content_id, compressed, receiver, "application/gzip")
    signed = wssec.sign(security, [messaging, body], {content_id: compressed}, sender.key, token)
    soap = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    boundary = f"=_Part_{uuid.uuid4().hex}"
    while boundary.encode() in ciphertext:  # vanishingly rare, but a boundary must not occur inside a part
        boundary = f"=_Part_{uuid.uuid4().hex}"
    parts = [
        _part(soap, {"Content-Type": "application/soap+xml; charset=UTF-8", "Content-ID": "<soap-envelope@pdp-gateway>"}),
        _part(ciphertext, {"Content-Type": "application/octet-stream", "Content-ID": f"<{content_id}>"}),
    ]
    request = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts) + b"--" + boundary.encode() + b"--\r\n"
    content_type = f'multipart/related; boundary="{boundary}"; type="application/soap+xml"; start="<soap-envelope@pdp-gateway>"'
    return UserMessage(message_id, request, content_type, tuple(signed))


def _part(content: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{name}: {value}" for name, value in {**headers, "Content-Transfer-Encoding": "binary"}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + content


def _user_messaging(
    soap_header: etree._Element, header: Header, from_party: str, to_party: str, message_id: str, content_id: str, at: datetime
) -> etree._Element:
    messaging = etree.SubElement(
        soap_header, f"{{{EB}}}Messaging", {f"{{{SOAP}}}mustUnderstand": "true", f"{{{SOAP}}}role": DEFAULT_ROLE, wssec.WSU_ID: "messaging"}
    )
    user_message = _eb(messaging, "UserMessage")
    info = _eb(user_message, "MessageInfo")
    _eb(info, "Timestamp", at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
    _eb(info, "MessageId", message_id)
    parties = _eb(user_message, "PartyInfo")
    for side, party, role in (("From", from_party, INITIATOR), ("To", to_party, RESPONDER)):
        node = _eb(parties, side)
        _eb(node, "PartyId", party, type=AP_PARTY_TYPE)
        _eb(node, "Role", role)
    collaboration = _eb(user_message, "CollaborationInfo")
    _eb(collaboration, "AgreementRef", AGREEMENT)
    _eb(collaboration, "Service", header.process, type=PROCESS_SCHEME)
    _eb(collaboration, "Action", f"{DOCUMENT_SCHEME}::{header.document_type}")
    _eb(collaboration, "ConversationId", header.instance_id)
    properties = _eb(user_message, "MessageProperties")
    _eb(properties, "Property", header.sender, name="originalSender", type=PARTICIPANT_SCHEME)
    _eb(properties, "Property", header.receiver, name="finalRecipient", type=PARTICIPANT_SCHEME)
    part = _eb(_eb(user_message, "PayloadInfo"), "PartInfo", href=f"cid:{content_id}")
    part_properties = _eb(part, "PartProperties")
    _eb(part_properties, "Property", "application/xml", name="MimeType")
    _eb(part_properties, "Property", "application/gzip", name="CompressionType")
    return messaging


def _eb(parent: etree._Element, name: str, text: str | None = None, /, **attributes: str) -> etree._Element:
    return wssec.element(parent, EB, name, text, **attributes)


def read_signal(body: bytes, content_type: str, *, sent: UserMessage, receiver: x509.Certificate) -> Signal:
    """Read the synchronous answer to `sent`: a receipt must be signed by `receiver` (the certificate its SMP publishes),
    name our MessageId and acknowledge exactly the references we signed; an error signal is read even unsigned."""
    soap = _soap_part(body, content_type)
    try:
        root = parse_untrusted(soap, MAX_SIGNAL_BYTES).getroot()
    except InputError as exc:
        raise As4Error(f"the answer is not a SOAP envelope: {exc.message}") from None
    messaging = root.find("S12:Header/eb:Messaging", NS)
    signal = None if messaging is None else messaging.find("eb:SignalMessage", NS)
    if root.tag != f"{{{SOAP}}}Envelope" or signal is None:
        raise As4Error("the answer carries no ebMS SignalMessage")
    reference = (signal.findtext("eb:MessageInfo/eb:RefToMessageId", namespaces=NS) or "").strip()
    errors = tuple(
        SignalError(
            code=error.get("errorCode", ""),
            severity=error.get("severity", ""),
            short_description=error.get("shortDescription", ""),
            detail=" ".join((error.findtext("eb:ErrorDetail", namespaces=NS) or error.findtext("eb:Description", namespaces=NS) or "").split()),
        )
        for error in signal.iterfind("eb:Error", NS)
    )
    signature = root.find("S12:Header/wsse:Security/ds:Signature", NS)
    if errors:
        if reference and reference != sent.message_id:
            raise As4Error(f"the error signal refers to message {reference!r}, not ours ({sent.message_id})")
        signer = _verify(root, signature, messaging, receiver) if signature is not None else ""
        return Signal(receipt=False, errors=errors, signer=signer, raw=soap)
    if signal.find("eb:Receipt", NS) is None:
        raise As4Error("the signal is neither a receipt nor an error")
    if reference != sent.message_id:
        raise As4Error(f"the receipt acknowledges message {reference!r}, not ours ({sent.message_id})")
    if signature is None:
        raise As4Error("the receipt is not signed, so it proves nothing")
    signer = _verify(root, signature, messaging, receiver)
    acknowledged = {
        (node.get("URI", ""), (node.findtext("ds:DigestValue", namespaces=NS) or "").strip())
        for node in signal.iterfind("eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference", NS)
    }
    ours = {(item.uri, item.digest) for item in sent.signed}
    if acknowledged != ours:
        missing = sorted(uri for uri, _ in ours - acknowledged)
        raise As4Error(f"the receipt's non-repudiation information does not match what we signed (not acknowledged as sent: {missing})")
    return Signal(receipt=True, errors=(), signer=signer, raw=soap)


def _verify(root: etree._Element, signature: etree._Element, messaging: etree._Element, receiver: x509.Certificate) -> str:
    """Check the signal's signature with the receiving access point's SMP certificate; it must cover this eb:Messaging."""
    token_uri = signature.find("ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference", NS)
    tokens = {token.get(wssec.WSU_ID): token for token in root.iterfind("S12:Header/wsse:Security/wsse:BinarySecurityToken", NS)}
    token = tokens.get((token_uri.get("URI", "") if token_uri is not None else "").removeprefix("#"))
    if token is not None:
        try:
            embedded = x509.load_der_x509_certificate(base64.b64decode(token.text or ""))
        except ValueError:
            raise As4Error("the signal's BinarySecurityToken is not an X.509 certificate") from None
        if embedded != receiver:
            raise As4Error(
                f"the signal is signed by {common_name(embedded.subject)!r}, not by the receiving access point's "
                f"registered certificate {common_name(receiver.subject)!r}"
            )
    try:
        signed = wssec.verify(root, signature, receiver)
    except wssec.SecurityError as exc:
        raise As4Error(f"the signal's signature is not valid: {exc}") from None
    if not any(node is messaging for node in signed):
        raise As4Error("the signal's signature does not cover its eb:Messaging header")
    return common_name(receiver.subject)


def _soap_part(body: bytes, content_type: str) -> bytes:
    """The SOAP envelope of an answer sent either bare or as the root of a multipart/related."""
    if not content_type.lower().startswith("multipart/"):
        return body
    message = BytesParser(policy=policy.default).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
    for part in message.iter_parts() if isinstance(message, EmailMessage) else ():
        if part.get_content_type() in ("application/soap+xml", "application/xop+xml", "text/xml"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise As4Error(f"the multipart answer ({content_type}) has no SOAP part")
