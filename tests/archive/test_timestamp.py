"""Checkpoints time-stamped by an RFC 3161 TSA running on loopback."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import func, select

from gateway.archive.checkpoints import checkpoint_dict
from gateway.archive.models import ArchiveCheckpoint
from gateway.archive.timestamp import TimestampError, check_token
from gateway.archive.verifier import checkpoint_message

from .conftest import make_setup
from .tsa import LoopbackTSA


def _archive_with_tsa(tmp_path, tsa: LoopbackTSA, pem: bytes | None = None):
    settings = {"tsa_url": tsa.url}
    tmp_path.mkdir(exist_ok=True)
    if pem is not None:
        (tmp_path / "tsa.pem").write_bytes(pem)
        settings["tsa_certificate"] = str(tmp_path / "tsa.pem")
    setup = make_setup("sqlite", tmp_path, sections={"archive": settings})
    setup.append(5)
    return setup


def test_checkpoint_is_time_stamped_and_the_token_checks(tmp_path):
    with LoopbackTSA() as tsa:
        setup = _archive_with_tsa(tmp_path, tsa, tsa.certificate_pem)
        checkpoint = setup.checkpoint()
    assert tsa.requests == 1 and checkpoint.tsa_token
    message = checkpoint_message(checkpoint_dict(checkpoint))
    pinned = tsa.certificate.public_bytes(Encoding.DER)
    assert abs((check_token(checkpoint.tsa_token, message, tsa_certificate=pinned) - checkpoint.time).total_seconds()) < 60
    with pytest.raises(TimestampError, match="other data"):
        check_token(checkpoint.tsa_token, message + b"x")
    result = setup.verify()
    assert result.ok, result.problems


def test_time_stamp_for_other_data_or_from_another_tsa_is_refused(tmp_path):
    with LoopbackTSA(wrong_imprint=True) as tsa:
        setup = _archive_with_tsa(tmp_path / "a", tsa)
        with pytest.raises(TimestampError, match="other data"):
            setup.checkpoint()
    with LoopbackTSA() as tsa, LoopbackTSA() as other:
        setup = _archive_with_tsa(tmp_path / "b", tsa, other.certificate_pem)
        with pytest.raises(TimestampError, match="another TSA"):
            setup.checkpoint()
    with LoopbackTSA(usage=ExtendedKeyUsageOID.CODE_SIGNING) as tsa:
        setup = _archive_with_tsa(tmp_path / "c", tsa)
        with pytest.raises(TimestampError, match="not a time-stamping certificate"):
            setup.checkpoint()
    with setup.database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchiveCheckpoint)) == 0


def test_unreachable_tsa_is_an_error_not_a_silent_skip(tmp_path):
    with LoopbackTSA() as tsa:
        url = tsa.url
    setup = make_setup("sqlite", tmp_path, sections={"archive": {"tsa_url": url, "tsa_timeout_seconds": 2}})
    with pytest.raises(TimestampError, match="unreachable"):
        setup.checkpoint()
