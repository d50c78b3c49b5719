"""PAdES on Factur-X: an incremental update that keeps the PDF/A-3 and its factur-x.xml intact, verifiable, tamper-evident."""

from __future__ import annotations

import io
import re

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from gateway.errors import InputError
from gateway.formats.documents import read_document
from gateway.signing.keys import SigningError
from gateway.signing.pades import sign_pdf
from gateway.signing.verify import verify_document
from gateway.validation.pipeline import validate
from tests.archive.tsa import LoopbackTSA
from tests.signing.conftest import Pki, flip


@pytest.fixture(scope="module")
def signed_pdf(facturx: bytes, pem_key) -> bytes:
    return sign_pdf(facturx, pem_key)


def _metadata(pdf: bytes) -> tuple[bytes, dict[str, str], str, str]:
    """The raw XMP stream, the information dictionary, and the XMP's pdfaid:part and fx:ConformanceLevel."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        xmp = document.Root.Metadata.read_bytes()
        info = {str(k): str(v) for k, v in document.docinfo.items()}
        with document.open_metadata() as meta:
            return xmp, info, meta.get("pdfaid:part"), meta.get("{urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#}ConformanceLevel")


def test_signing_appends_and_keeps_the_pdfa_and_its_xml(facturx: bytes, cii: bytes, signed_pdf: bytes) -> None:
    assert signed_pdf.startswith(facturx) and len(signed_pdf) > len(facturx)  # an incremental update: the original bytes untouched
    document = read_document(signed_pdf)
    assert document.container == "pdf" and document.xml == cii  # factur-x.xml byte for byte
    xmp, info, part, level = _metadata(signed_pdf)
    assert (xmp, info) == _metadata(facturx)[:2]  # XMP and information dictionary still agree, unchanged
    assert (part, level) == ("3", "EN 16931")
    with pikepdf.open(io.BytesIO(signed_pdf)) as pdf:
        widget = pdf.Root.AcroForm.Fields[0]
        assert widget.FT == "/Sig" and list(widget.Rect) == [0, 0, 0, 0] and int(widget.F) & 4  # invisible, printable: PDF/A-proof
        assert len(pdf.Root.OutputIntents) == 1


def test_signed_facturx_passes_the_official_artefacts(signed_pdf: bytes) -> None:
    report = validate(read_document(signed_pdf))
    assert report.fatal_count == 0, [f for f in report.findings if f.severity == "fatal"]


def test_signed_facturx_verifies_with_every_key_store(facturx: bytes, any_key, pki: Pki) -> None:
    verification = verify_document(sign_pdf(facturx, any_key), pki.roots)
    assert verification.intact and verification.container == "pdf"
    (info,) = verification.signatures
    assert (info.format, info.chain, info.signer, info.problems) == ("pades", "trusted", pki.certificate.subject.rfc4514_string(), [])
    assert info.signing_time is not None and info.timestamp is None  # B-B: no time-stamp


def test_one_flipped_byte_in_the_signed_bytes_is_caught(signed_pdf: bytes, pki: Pki) -> None:
    ranges = re.search(rb"/ByteRange \[\s*(\d+) (\d+) (\d+) (\d+)", signed_pdf)
    first, length, second, second_length = map(int, ranges.groups())
    positions = [*range(first, first + length, length // 50), *range(second, second + second_length, 53)]
    positions.append(first + length + 100)  # inside the CMS signature itself
    for index in positions:
        try:
            verification = verify_document(flip(signed_pdf, index), pki.roots)
        except InputError:
            continue  # no longer a readable PDF
        assert not verification.intact, f"flip at {index} went unnoticed"


def test_an_invoice_changed_after_signing_is_caught(signed_pdf: bytes, cii: bytes, pki: Pki) -> None:
    """An incremental update that swaps the embedded factur-x.xml: the signature still matches its revision, the document does not."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    spec = writer.root["/Names"]["/EmbeddedFiles"]["/Names"][1]
    forged = writer.add_object(
        generic.StreamObject({"/Type": generic.NameObject("/EmbeddedFile")}, stream_data=cii.replace(b"F2026-000142", b"F2026-999999"))
    )
    for key in [k for k in ("/F", "/UF") if k in spec["/EF"]]:
        spec["/EF"][key] = forged
    writer.update_container(spec)
    tampered = io.BytesIO()
    writer.write(tampered)
    tampered = tampered.getvalue()
    assert b"F2026-999999" in read_document(tampered).xml
    verification = verify_document(tampered, pki.roots)
    assert not verification.intact
    assert "modified after signing" in verification.signatures[0].problems[-1]


def test_a_second_signature_keeps_the_first_intact(signed_pdf: bytes, pki_ec: Pki, pki: Pki) -> None:
    from gateway.signing.keys import load_pem

    twice = sign_pdf(signed_pdf, load_pem(pki_ec / "signing.key", pki_ec / "chain.pem"))
    verification = verify_document(twice, pki.roots + pki_ec.roots)
    assert verification.intact and [s.chain for s in verification.signatures] == ["trusted", "trusted"]


def test_pades_b_t_with_a_time_stamp_authority(facturx: bytes, pem_key, pki: Pki) -> None:
    with LoopbackTSA() as tsa:
        signed = sign_pdf(facturx, pem_key, tsa.url)
    info = verify_document(signed, pki.roots).signatures[0]
    assert info.intact and info.timestamp is not None and abs((info.timestamp - info.signing_time).total_seconds()) < 60
    with LoopbackTSA(wrong_imprint=True) as tsa:  # a token for other data: the signature is not accepted
        signed = sign_pdf(facturx, pem_key, tsa.url)
    info = verify_document(signed, pki.roots).signatures[0]
    assert not info.intact and info.timestamp is None and "time-stamp" in info.problems[0]


def test_an_unreachable_tsa_is_a_signing_error(facturx: bytes, pem_key) -> None:
    with pytest.raises(SigningError, match="time-stamp authority"):
        sign_pdf(facturx, pem_key, "http://127.0.0.1:9/tsa")


def test_unsigned_and_unreadable_pdfs(facturx: bytes, pem_key) -> None:
    verification = verify_document(facturx)
    assert verification.container == "pdf" and not verification.signed and not verification.intact
    with pytest.raises(InputError):
        sign_pdf(b"%PDF-1.7\nnot really a PDF", pem_key)
