"""SML discovery: from a participant id to its SMP's URL, by a U-NAPTR DNS look-up (REGULATION §5.3).

The DNS name is `base32(sha256(lower("<ICD>:<value>")))` without `=` padding, under
`iso6523-actorid-upis.<SML zone>`; the NAPTR record with flag `U` and service `Meta:SMP` carries a regexp
whose replacement is the SMP base URL.  Only the value with its ICD prefix is hashed, never the
`iso6523-actorid-upis::` scheme.  The legacy `B-<md5>` CNAME form is not implemented (forbidden since 2025-11).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

import dns.exception
import dns.rdatatype
import dns.resolver

from connectors.base import ConnectorError
from connectors.peppol.identifiers import PARTICIPANT_SCHEME, ParticipantId

# REGULATION §5.3 [S/U]: the DNS zones of the current SML; access points had to switch to them by 2026-08-31.
SML_ZONE_PRODUCTION = "participant.sml.prod.tech.peppol.org"
SML_ZONE_TEST = "participant.sml.test.tech.peppol.org"

NAPTR_SERVICE = "Meta:SMP"


@dataclass(frozen=True)
class DnsSettings:
    """Where to ask: the system resolver when `nameserver` is None, else that server (tests use a loopback one)."""

    nameserver: str | None = None
    port: int = 53
    timeout: float = 5.0


def dns_label(participant: ParticipantId) -> str:
    """The hashed label: base32 of SHA-256 of the lower-cased `<ICD>:<value>`, padding stripped, lower case."""
    digest = hashlib.sha256(participant.prefixed.lower().encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def dns_name(participant: ParticipantId, zone: str) -> str:
    """The name whose NAPTR records point at the participant's SMP."""
    return f"{dns_label(participant)}.{PARTICIPANT_SCHEME}.{zone.strip('.')}"


def smp_url(participant: ParticipantId, zone: str, settings: DnsSettings) -> str:
    """The SMP base URL for `participant`, or ConnectorError (transient for DNS trouble, not for 'not registered')."""
    name = dns_name(participant, zone)
    resolver = dns.resolver.Resolver(configure=settings.nameserver is None)
    if settings.nameserver is not None:
        resolver.nameservers = [settings.nameserver]
        resolver.port = settings.port
    resolver.lifetime = settings.timeout
    try:
        answer = resolver.resolve(name, dns.rdatatype.NAPTR)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        raise ConnectorError(
            f"Peppol participant {participant} is not registered in the SML zone {zone} (no NAPTR record at {name})",
            transient=False,
            code="not-registered",
        ) from None
    except dns.exception.DNSException as exc:
        raise ConnectorError(f"SML look-up of {participant} failed: {exc}", transient=True, code="dns") from None
    records = sorted(answer, key=lambda r: (r.order, r.preference))
    for record in records:
        if record.flags.decode().upper() == "U" and record.service.decode().lower() == NAPTR_SERVICE.lower():
            return apply_naptr_regexp(record.regexp.decode(), name)
    raise ConnectorError(
        f"the SML answer for {participant} has no U-NAPTR record with service {NAPTR_SERVICE}", transient=False, code="not-registered"
    )


def apply_naptr_regexp(regexp: str, subject: str) -> str:
    """Apply a NAPTR substitution expression `<d>ere<d>replacement<d>flags` (RFC 3402 §3.2) and check it gives a URL."""
    if len(regexp) < 3:
        raise ConnectorError(f"malformed NAPTR regexp {regexp!r}", transient=False, code="sml")
    delimiter = regexp[0]
    parts = regexp[1:].split(delimiter)
    if len(parts) != 3:
        raise ConnectorError(f"malformed NAPTR regexp {regexp!r}", transient=False, code="sml")
    pattern, replacement, flags = parts
    # POSIX ERE back-references are written \1 … \9, which Python's re.sub understands as they are.
    url = re.sub(pattern, replacement, subject, count=1, flags=re.IGNORECASE if "i" in flags else 0)
    if not url.lower().startswith(("https://", "http://")):
        raise ConnectorError(f"the NAPTR regexp {regexp!r} does not give an http(s) URL", transient=False, code="sml")
    return url.rstrip("/")
