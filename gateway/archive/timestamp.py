"""RFC 3161 time-stamp client: ask a TSA to time-stamp a checkpoint, and check the token it returns.

A token is accepted only when the TSA granted it, it is for the SHA-256 of our exact
message, it echoes our nonce, and its CMS signature verifies with the TSA certificate
it carries (which must have the timeStamping extended key usage and, when one is
configured, be the pinned TSA certificate).  Trust in the TSA's own CA is left to that
pin and to the auditor (`openssl ts -verify`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import requests
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
GRANTED = ("granted", "granted_with_mods")


class TimestampError(RuntimeError):
    """The TSA could not be reached, refused, or answered with a token that does not check."""


def build_request(message: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for SHA-256(message), asking for the TSA certificate in the token."""
    imprint = {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(message).digest()}
    return tsp.TimeStampReq({"version": 1, "message_imprint": imprint, "nonce": nonce, "cert_req": True}).dump()


def request_token(url: str, message: bytes, *, timeout: float = 10, tsa_certificate: bytes | None = None) -> bytes:
    """The DER TimeStampToken the TSA at `url` returns for `message`, checked (see `check_token`)."""
    nonce = secrets.randbits(63)
    try:
        answer = requests.post(url, data=build_request(message, nonce), headers={"Content-Type": QUERY_TYPE}, timeout=timeout)
    except requests.RequestException as exc:
        raise TimestampError(f"time-stamp authority {url} unreachable: {exc}") from None
    if answer.status_code != 200 or answer.headers.get("Content-Type", "").split(";")[0].strip() != REPLY_TYPE:
        raise TimestampError(f"time-stamp authority {url} answered HTTP {answer.status_code} ({answer.headers.get('Content-Type')})")
    try:
        reply = tsp.TimeStampResp.load(answer.content)
        status = reply["status"]["status"].native
        if status not in GRANTED:
            raise TimestampError(f"time-stamp authority {url} refused: {status} {reply['status']['status_string'].native or ''}".strip())
        token = reply["time_stamp_token"].dump()
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"time-stamp authority {url} sent an unreadable reply: {exc}") from None
    check_token(token, message, nonce=nonce, tsa_certificate=tsa_certificate)
    return token


def _signer_certificate(signed: cms.SignedData) -> x509.Certificate:
    sid = signed["signer_infos"][0]["sid"].chosen
    for choice in signed["certificates"] or []:
        cert = choice.chosen
        if isinstance(sid, cms.IssuerAndSerialNumber) and cert.issuer == sid["issuer"] and cert.serial_number == sid["serial_number"].native:
            return x509.load_der_x509_certificate(cert.dump())
        if not isinstance(sid, cms.IssuerAndSerialNumber) and cert.key_identifier == sid.native:
            return x509.load_der_x509_certificate(cert.dump())
    raise TimestampError("the time-stamp token does not carry its signer's certificate")


def _verify_signature(certificate: x509.Certificate, signature: bytes, data: bytes, digest_name: str) -> None:
    key = certificate.public_key()
    algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(digest_name)
    if algorithm is None:
        raise TimestampError(f"time-stamp token signed with an unsupported digest {digest_name}")
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise TimestampError(f"time-stamp token signed with an unsupported key type {type(key).__name__}")
    except InvalidSignature:
        raise TimestampError("the time-stamp token's signature does not verify") from None


def check_token(token: bytes, message: bytes, *, nonce: int | None = None, tsa_certificate: bytes | None = None) -> datetime:
    """The time a valid token for SHA-256(message) certifies; raises TimestampError otherwise.

    `tsa_certificate` (DER) pins the TSA: a token signed by any other certificate is refused.
    """
    try:
        info = cms.ContentInfo.load(token)
        signed = info["content"]
        encapsulated = signed["encap_content_info"]
        if info["content_type"].native != "signed_data" or encapsulated["content_type"].native != "tst_info":
            raise TimestampError("not an RFC 3161 time-stamp token")
        tst_der = encapsulated["content"].contents
        tst = tsp.TSTInfo.load(tst_der)
        imprint = tst["message_imprint"]
        if imprint["hash_algorithm"]["algorithm"].native != "sha256" or imprint["hashed_message"].native != hashlib.sha256(message).digest():
            raise TimestampError("the time-stamp token is for other data")
        if nonce is not None and tst["nonce"].native != nonce:
            raise TimestampError("the time-stamp token does not echo our nonce")
        signer = signed["signer_infos"][0]
        digest_name = signer["digest_algorithm"]["algorithm"].native
        attributes = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
        if attributes.get("message_digest") != hashlib.new(digest_name, tst_der).digest():
            raise TimestampError("the time-stamp token's signed digest does not match its content")
        certificate = _signer_certificate(signed)
        signed_attrs = signer["signed_attrs"].dump()
        _verify_signature(certificate, signer["signature"].native, b"\x31" + signed_attrs[1:], digest_name)  # signed as a SET OF
        gen_time = tst["gen_time"].native
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TimestampError(f"unreadable time-stamp token: {exc}") from None
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = []
    if x509.ExtendedKeyUsageOID.TIME_STAMPING not in usages:
        raise TimestampError("the time-stamp token's certificate is not a time-stamping certificate")
    if tsa_certificate is not None and certificate.public_bytes(Encoding.DER) != tsa_certificate:
        raise TimestampError("the time-stamp token is signed by another TSA than the configured one")
    return gen_time
