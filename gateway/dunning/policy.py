"""A dunning policy: its tiers (delay after the due date, channels, tone, template), read and checked from JSON.

A policy is refused whole, with every problem named by its JSON pointer: delays negative or not strictly increasing
(two tiers whose delays overlap), unknown channels or tones, a tier after the formal notice, a template that does
not compile or names a value no reminder has.  Nothing is stored or sent from a refused policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from gateway.dunning import templates

EMAIL, WEBHOOK, LETTER = "email", "webhook", "letter"
CHANNELS = (EMAIL, WEBHOOK, LETTER)
FRIENDLY, FIRM, FORMAL_NOTICE = "friendly", "firm", "formal_notice"
TONES = (FRIENDLY, FIRM, FORMAL_NOTICE)
LANGUAGES = ("fr", "en")
MAX_TIERS, MAX_DAYS = 10, 3650
_POLICY_KEYS = {"tiers", "language", "email", "penalty_rate"}
_TIER_KEYS = {"name", "days", "channels", "tone", "claim_penalties", "templates"}


class PolicyError(ValueError):
    """A policy refused: `problems` lists (JSON pointer, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{pointer}: {message}" for pointer, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class Tier:
    """One step: sent `days` days after the due date through `channels`, in `tone`, claiming penalties or not."""

    name: str
    days: int
    channels: tuple[str, ...]
    tone: str
    claim_penalties: bool
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language -> {"subject", "body"}: the tenant's own


@dataclass(frozen=True)
class Policy:
    """The tiers in order; `email` overrides the buyer's address; `penalty_rate` (% a year) the invoice's stated rate."""

    tiers: tuple[Tier, ...]
    language: str = "fr"
    email: str | None = None
    penalty_rate: Decimal | None = None


DEFAULT_POLICY: dict[str, Any] = {
    "language": "fr",
    "tiers": [
        {"name": "reminder", "days": 7, "channels": [EMAIL], "tone": FRIENDLY},
        {"name": "second-reminder", "days": 21, "channels": [EMAIL, WEBHOOK], "tone": FIRM},
        {"name": "formal-notice", "days": 45, "channels": [EMAIL, LETTER, WEBHOOK], "tone": FORMAL_NOTICE},
    ],
}


def parse(data: Any) -> Policy:
    """The policy `data` describes, or PolicyError naming every problem."""
    problems: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise PolicyError([("", "a policy is a JSON object with its tiers")])
    problems += [(f"/{key}", "unknown member") for key in sorted(set(data) - _POLICY_KEYS)]
    language = data.get("language", "fr")
    if language not in LANGUAGES:
        problems.append(("/language", f"one of {', '.join(LANGUAGES)}"))
    email = data.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        problems.append(("/email", "an e-mail address"))
    rate = _rate(data.get("penalty_rate"), problems)
    raw_tiers = data.get("tiers")
    if not isinstance(raw_tiers, list) or not raw_tiers:
        problems.append(("/tiers", "a non-empty list of tiers"))
        raise PolicyError(problems)
    if len(raw_tiers) > MAX_TIERS:
        problems.append(("/tiers", f"at most {MAX_TIERS} tiers"))
    tiers = [tier for index, raw in enumerate(raw_tiers) if (tier := _tier(raw, f"/tiers/{index}", problems)) is not None]
    problems += _order(tiers, raw_tiers)
    if problems:
        raise PolicyError(problems)
    return Policy(tuple(tiers), language, email, rate)


def _rate(value: Any, problems: list[tuple[str, str]]) -> Decimal | None:
    if value is None:
        return None
    try:
        rate = Decimal(str(value)) if isinstance(value, str | int) else None
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or not 0 <= rate <= 100:
        problems.append(("/penalty_rate", 'a yearly percentage between 0 and 100, as a string ("12.5")'))
        return None
    return rate


def _tier(raw: Any, pointer: str, problems: list[tuple[str, str]]) -> Tier | None:
    if not isinstance(raw, dict):
        problems.append((pointer, "a tier is an object"))
        return None
    problems += [(f"{pointer}/{key}", "unknown member") for key in sorted(set(raw) - _TIER_KEYS)]
    name, days, channels, tone = raw.get("name"), raw.get("days"), raw.get("channels"), raw.get("tone", FIRM)
    found = len(problems)
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        problems.append((f"{pointer}/name", "a name of 1 to 64 characters"))
    if not isinstance(days, int) or isinstance(days, bool):
        problems.append((f"{pointer}/days", "a whole number of days after the due date"))
    elif days < 0:
        problems.append((f"{pointer}/days", "a delay after the due date cannot be negative"))
    elif days > MAX_DAYS:
        problems.append((f"{pointer}/days", f"at most {MAX_DAYS} days"))
    if not isinstance(channels, list) or not channels or any(c not in CHANNELS for c in channels) or len(set(channels)) != len(channels):
        problems.append((f"{pointer}/channels", f"a non-empty list of distinct channels among {', '.join(CHANNELS)}"))
    if tone not in TONES:
        problems.append((f"{pointer}/tone", f"one of {', '.join(TONES)}"))
    claim = raw.get("claim_penalties", tone != FRIENDLY)
    if not isinstance(claim, bool):
        problems.append((f"{pointer}/claim_penalties", "true or false"))
    own = raw.get("templates", {})
    problems += templates.check(own, f"{pointer}/templates")
    if len(problems) > found:
        return None
    return Tier(name.strip(), days, tuple(channels), tone, claim, own)


def _order(tiers: list[Tier], raw: list[Any]) -> list[tuple[str, str]]:
    """Delays strictly increasing (two tiers on the same day, or out of order, overlap), names distinct, the formal notice last."""
    if len(tiers) != len(raw):
        return []  # a tier already refused: its place cannot be judged
    problems = []
    for index, (before, tier) in enumerate(pairwise(tiers), start=1):
        if tier.days <= before.days:
            problems.append((f"/tiers/{index}/days", f"{tier.days} days overlaps tier {before.name!r} ({before.days} days): delays must increase"))
        if before.tone == FORMAL_NOTICE:
            problems.append((f"/tiers/{index}", f"no tier can follow the formal notice {before.name!r}"))
    names = [tier.name for tier in tiers]
    problems += [(f"/tiers/{index}/name", f"{name!r} names two tiers") for index, name in enumerate(names) if name in names[:index]]
    return problems
