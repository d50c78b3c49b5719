"""PAdES baseline signatures on (Factur-X) PDFs, with pyHanko: B-B, and B-T when a TSA URL is given.

The signature is an incremental update: the original bytes are kept as they are and the
signature revision is appended, so the PDF/A-3 document, its XMP (pdfaid part 3, the Factur-X
extension schema) and the embedded factur-x.xml stay byte for byte what they were (Factur-X
1.08 §4 "qualified electronic signature or seal applied to the PDF envelope"; DESIGN pitfall 4).
The signature field is invisible (a zero-size widget, which PDF/A exempts from an appearance).
"""

from __future__ import annotations

import io

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PdfSigningError
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from gateway.errors import MalformedDocument, UnsupportedDocument
from gateway.signing.keys import SigningError, SigningKey

TSA_TIMEOUT = 10  # seconds


def to_asn1(certificate) -> asn1_x509.Certificate:
    """A `cryptography` certificate as the asn1crypto object pyHanko and its validator use."""
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


class _MetadataKeepingWriter(IncrementalPdfFileWriter):
    """An incremental writer that leaves the information dictionary and the XMP alone.

    pyHanko's default rewrites both on every update (its own Producer, a new ModDate, the XMP
    re-serialised with other prefixes), which breaks their agreement that PDF/A requires.
    """

    def _update_meta(self) -> None:
        pass


class _KeySigner(signers.Signer):
    """A pyHanko signer whose raw signatures come from a `SigningKey` (so a PKCS#11 key signs on its token)."""

    def __init__(self, key: SigningKey) -> None:
        super().__init__(signing_cert=to_asn1(key.certificate), cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in key.chain]))
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:  # pyHanko sizes the signature's placeholder with this; a token need not sign for that
            return bytes(self._key.max_signature_size())
        return self._key.sign(data, digest_algorithm)


def sign_pdf(data: bytes, key: SigningKey, tsa_url: str | None = None) -> bytes:
    """`data` with a PAdES signature by `key` appended as an incremental update; B-T (RFC 3161 time-stamp from `tsa_url`) when given."""
    try:
        writer = _MetadataKeepingWriter(io.BytesIO(data), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise MalformedDocument(f"Unreadable PDF: {exc}") from None
    if writer.prev.encrypted:
        raise UnsupportedDocument("Encrypted PDF: a Factur-X PDF/A-3 cannot be encrypted, and is not signed here.")
    taken = {name for name, _value, _ref in fields.enumerate_sig_fields(writer.prev)}
    field_name = next(f"Signature{n}" for n in range(1, len(taken) + 2) if f"Signature{n}" not in taken)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES, name=_common_name(key)
    )
    timestamper = RequestsHTTPTimeStamper(tsa_url, timeout=TSA_TIMEOUT) if tsa_url else None
    try:
        out = signers.sign_pdf(writer, metadata, signer=_KeySigner(key), timestamper=timestamper, bytes_reserved=_room(key, tsa_url))
    except TimestampRequestError as exc:
        raise SigningError(f"time-stamp authority {tsa_url}: {exc}") from None
    except PdfSigningError as exc:
        raise SigningError(f"PAdES signing failed: {exc}") from None
    return out.getvalue()


def _room(key: SigningKey, tsa_url: str | None) -> int:
    """Bytes reserved for the CMS: the certificates, the signature, the signed attributes and a time-stamp token, generously.

    Sizing it up front spares pyHanko a dry-run signature (and a second TSA request) to measure it: twice as fast.
    """
    certificates = sum(len(c.public_bytes(Encoding.DER)) for c in (key.certificate, *key.chain))
    room = certificates + key.max_signature_size() + 8192 + (32768 if tsa_url else 0)
    return room + room % 2  # pyHanko wants an even count


def _common_name(key: SigningKey) -> str | None:
    from cryptography.x509.oid import NameOID

    names = key.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None
