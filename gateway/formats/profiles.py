"""Factur-X / EN 16931 profiles: their names, BT-24 identifiers and XMP conformance levels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """One Factur-X profile (Factur-X 1.07+, CII D22B)."""

    name: str  # our key: minimum, basicwl, basic, en16931, extended
    guideline_id: str  # BT-24
    conformance_level: str  # XMP fx:ConformanceLevel
    is_en16931: bool  # a complete EN 16931 invoice (MINIMUM and BASIC WL are not)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("minimum", "urn:factur-x.eu:1p0:minimum", "MINIMUM", False),
        Profile("basicwl", "urn:factur-x.eu:1p0:basicwl", "BASIC WL", False),
        Profile("basic", "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", "BASIC", True),
        Profile("en16931", "urn:cen.eu:en16931:2017", "EN 16931", True),
        Profile("extended", "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended", "EXTENDED", True),
    )
}
DEFAULT_PROFILE = "en16931"

# Accepted spellings of the command line and API ("basic-wl", "BASIC WL", "EN 16931" …).
ALIASES = {"basic-wl": "basicwl", "basic wl": "basicwl", "en 16931": "en16931", "en16931": "en16931", "comfort": "en16931"}


def get_profile(name: str | None) -> Profile:
    """The profile for a user-given name; the EN 16931 profile by default."""
    key = (name or DEFAULT_PROFILE).strip().lower()
    key = ALIASES.get(key, key)
    if key not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}; use one of: {', '.join(PROFILES)}.")
    return PROFILES[key]


def profile_of_guideline(guideline_id: str | None) -> Profile | None:
    """The Factur-X profile a BT-24 value declares, or None (XRechnung, Peppol, other CIUS)."""
    if not guideline_id:
        return None
    gid = guideline_id.strip()
    for profile in PROFILES.values():
        if gid == profile.guideline_id:
            return profile
    lowered = gid.lower()
    # Legacy spellings: ZUGFeRD 2.0 (urn:zugferd.de:2p0:*) and Factur-X 1.0 (…:compliant:factur-x.eu:1p0:*).
    for suffix, key in (
        ("extended", "extended"),
        ("basicwl", "basicwl"),
        ("basic", "basic"),
        ("minimum", "minimum"),
        ("en16931", "en16931"),
        ("comfort", "en16931"),
    ):
        if (lowered.startswith("urn:zugferd.de:2p0:") or "factur-x.eu:1p0" in lowered) and lowered.endswith(suffix):
            return PROFILES[key]
    return None
