"""Certificates on Peppol: trust-anchor checks and the test/production stage (DESIGN pitfall 9).

Peppol runs two separate networks, each with its own PKI: a test network (test SML, CAs named
"PEPPOL … TEST CA - G2/G3") and production (CAs without "TEST").  Mixing them (a production SMP signed by a
test CA, a test access point certificate in production …) is a frequent onboarding failure, so every
certificate the connector meets is checked against the configured stage and the error names both sides.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from connectors.base import ConnectorError

Stage = Literal["test", "production"]
STAGES: tuple[Stage, ...] = ("test", "production")


def load_certificates(pem: str | bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    return x509.load_pem_x509_certificates(data)


def common_name(name: x509.Name) -> str:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attributes[0].value) if attributes else name.rfc4514_string()


def stage_of_ca(ca_name: str) -> Stage | None:
    """The Peppol stage a CA name belongs to, or None for a CA that is not a Peppol one (private test PKI)."""
    upper = ca_name.upper()
    if "PEPPOL" not in upper:
        return None
    return "test" if "TEST" in upper else "production"


def check_stage(certificate: x509.Certificate, expected: Stage, what: str) -> None:
    """Refuse a certificate issued by the other Peppol stage's CA, saying which stage each side is on."""
    issuer = common_name(certificate.issuer)
    found = stage_of_ca(issuer)
    if found is not None and found != expected:
        raise ConnectorError(
            f"Peppol certificate stage mismatch: the {what} certificate {common_name(certificate.subject)!r} was issued by "
            f"{issuer!r}, a Peppol {found} CA, but this connector is configured for the Peppol {expected} network. "
            f"Use the {expected} SML zone, {expected} SMP trust anchors and an access point registered on the {expected} network.",
            transient=False,
            code="certificate-stage",
        )


def check_issued_by(certificate: x509.Certificate, anchors: list[x509.Certificate], what: str, at: datetime | None = None) -> None:
    """Accept `certificate` only when one of `anchors` signed it directly and it is valid now."""
    now = at or datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise ConnectorError(
            f"the {what} certificate {common_name(certificate.subject)!r} is not valid now "
            f"(valid {certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d})",
            transient=False,
            code="certificate",
        )
    for anchor in anchors:
        if anchor.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(anchor)
        except (InvalidSignature, ValueError, TypeError) as exc:
            raise ConnectorError(
                f"the {what} certificate claims issuer {common_name(anchor.subject)!r} but its signature does not verify: {exc}",
                transient=False,
                code="certificate",
            ) from None
        return
    trusted = ", ".join(repr(common_name(a.subject)) for a in anchors) or "none configured"
    raise ConnectorError(
        f"the {what} certificate {common_name(certificate.subject)!r} was issued by {common_name(certificate.issuer)!r}, "
        f"which is not a configured trust anchor ({trusted})",
        transient=False,
        code="certificate",
    )
