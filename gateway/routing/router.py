"""Deciding the channel of an outgoing invoice, and keeping the reasons.

The steps, in order; the first that decides wins, and every step tried is kept in the decision:

1. the tenant's **buyer rules** (`buyer = …` in config/routing.toml);
2. the **directory** of known recipients (an entry's channel, or public sector → chorus_pro,
   Peppol participant → peppol, e-mail → email);
3. the opt-in **public-SIREN heuristic** (a SIREN starting with 1 or 2 is a French public entity → chorus_pro);
4. the **country** and **identifier-scheme** rules;
5. the buyer's electronic address (BT-49) with a **Peppol scheme** → peppol, after an SML/SMP look-up when
   `peppol_participants = "lookup"`, as given when "trust", never when "ignore";
6. the buyer's **e-mail** (BT-58, or BT-49 with scheme EM) → email;
7. the **default** rules;
8. the **sandbox**, only while the tenant has no real channel configured (a fresh install): a simulated
   recipient that plays back lifecycle statuses (connectors/sandbox), labelled as such everywhere.

What the tenant said (rules, directory, the heuristic it switched on) is obeyed even for a channel
without a configured connector — the delivery then fails visibly; what is only inferred (steps 5 and 6)
is skipped when the tenant has no connector for it.  Once a real channel is configured the sandbox is never
chosen unless a rule names it.  Nothing decided is "unroutable", with the steps, and a reason saying what
would reach the buyer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from connectors.base import ConnectorError
from connectors.peppol.identifiers import IdentifierError, ParticipantId
from gateway.intake import siren_of
from gateway.model.invoice import Invoice
from gateway.routing import directory
from gateway.routing.directory import EMAIL, SIREN, SIRET, VAT
from gateway.routing.models import DirectoryEntry
from gateway.routing.settings import RoutingSettings, Rule, normalise
from gateway.texts import N_

CHORUS_PRO, PEPPOL, EMAIL_CHANNEL, SANDBOX = "chorus_pro", "peppol", "email", "sandbox"

# Checks a participant on Peppol (SML + SMP for the invoice's document type); raises ConnectorError when it cannot receive it.
PeppolLookup = Callable[[ParticipantId], None]


@dataclass(frozen=True)
class Buyer:
    """The buyer's identifiers, as routing reads them from the canonical invoice."""

    name: str
    country: str
    siren: str | None
    sirets: tuple[str, ...]
    vat_id: str | None
    address: tuple[str, str] | None  # BT-49: (scheme, value)
    email: str | None

    @classmethod
    def of(cls, invoice: Invoice) -> Buyer:
        party = invoice.buyer
        address = party.electronic_address
        sirets = [i.value for i in party.identifiers if i.scheme == SIRET]
        if address and address.scheme == SIRET:
            sirets.append(address.value)
        if address and address.scheme == "0225" and "_" in address.value:  # <SIREN>_<SIRET>[_<routing code>]
            part = address.value.split("_")[1]
            if len(part) == 14 and part.isdigit():
                sirets.append(part)
        email = address.value if address and address.scheme == EMAIL else None
        if party.contact and party.contact.email:
            email = email or party.contact.email
        return cls(
            name=party.name,
            country=party.address.country_code.upper(),
            siren=siren_of(party),
            sirets=tuple(dict.fromkeys(normalise(s) for s in sirets)),
            vat_id=normalise(party.vat_id) if party.vat_id else None,
            address=(address.scheme.upper(), address.value) if address and address.scheme else None,
            email=email.strip() if email else None,
        )

    def identifiers(self) -> list[tuple[str, str]]:
        """(scheme, normalised identifier) pairs, most specific first: SIRET, electronic address, SIREN, VAT, e-mail."""
        keys = [(SIRET, s) for s in self.sirets]
        if self.address:
            keys.append((self.address[0], normalise(self.address[1])))
        if self.siren:
            keys.append((SIREN, self.siren))
        if self.vat_id:
            keys.append((VAT, self.vat_id))
        if self.email:
            keys.append((EMAIL, normalise(self.email)))
        return list(dict.fromkeys(keys))

    def peppol_id(self) -> str | None:
        """BT-49 as "<ICD>:<value>" when its scheme is an ISO 6523 ICD (4 digits), which Peppol routes on."""
        if self.address and len(self.address[0]) == 4 and self.address[0].isdigit():
            return f"{self.address[0]}:{self.address[1]}"
        return None


@dataclass(frozen=True)
class Step:
    """One thing routing looked at, and what came of it."""

    step: str  # rule, directory, heuristic, peppol, email, default, sandbox
    outcome: str  # decided, no-match, skipped, not-found
    detail: str


@dataclass
class Decision:
    """The channel (None: unroutable), which step decided and why, what was tried, and recipient data the step supplied."""

    channel: str | None
    decided_by: str | None
    reason: str
    steps: list[Step] = field(default_factory=list)
    recipient: dict[str, str] = field(default_factory=dict)  # email, peppol_id, name from the directory or the look-up

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "decided_by": self.decided_by,
            "reason": self.reason,
            "steps": [asdict(s) for s in self.steps],
            "recipient": self.recipient,
        }


@dataclass(frozen=True)
class Context:
    """What routing needs besides the invoice."""

    session: Session
    tenant_id: int
    tenant: str
    settings: RoutingSettings
    configured: Collection[str]  # channels with a connector configured for the tenant
    peppol_lookup: PeppolLookup | None = None  # None: the tenant has no Peppol connector


# A step looks at the buyer and either decides (channel, recipient data) or says why not.
Outcome = tuple[Step, str | None, dict[str, str]]


def _not(step: str, outcome: str, detail: str) -> Outcome:
    return Step(step, outcome, detail), None, {}


def _decided(step: str, channel: str, detail: str, recipient: dict[str, str] | None = None) -> Outcome:
    return Step(step, "decided", detail), channel, recipient or {}


def _first_rule(rules: list[Rule], matches: Callable[[Rule], bool], step: str, nothing: str) -> Outcome:
    for rule in rules:
        if matches(rule):
            return _decided(step, rule.channel, rule.describe())
    return _not(step, "no-match", N_("{nothing} ({count} rule(s) looked at)").format(nothing=nothing, count=len(rules)))


def _buyer_rules(buyer: Buyer, ctx: Context) -> Outcome:
    values = {value for _, value in buyer.identifiers()} | {f"{scheme}:{value}" for scheme, value in buyer.identifiers()}
    return _first_rule(ctx.settings.rules_for(ctx.tenant, "buyer"), lambda r: r.value in values, "rule", N_("no buyer rule names this buyer"))


def _entry_channel(entry: DirectoryEntry) -> tuple[str | None, str]:
    if entry.channel:
        return entry.channel, N_("its channel is {channel}").format(channel=entry.channel)
    if entry.public_sector:
        return CHORUS_PRO, N_("it is a public-sector buyer")
    if entry.peppol_id:
        return PEPPOL, N_("it is Peppol participant {participant}").format(participant=entry.peppol_id)
    if entry.email:
        return EMAIL_CHANNEL, N_("its e-mail is {email}").format(email=entry.email)
    return None, N_("it names no channel, no Peppol id and no e-mail")


def _directory(buyer: Buyer, ctx: Context) -> Outcome:
    entry = directory.find(ctx.session, ctx.tenant_id, buyer.identifiers())
    if entry is None:
        searched = ", ".join(f"{scheme}:{value}" for scheme, value in buyer.identifiers()) or N_("a buyer without identifiers")
        return _not("directory", "not-found", N_("no directory entry for {searched}").format(searched=searched))
    channel, why = _entry_channel(entry)
    if entry.tenant_id is not None:
        template = N_("the tenant's directory entry {entry} ({name}): {why}")
    else:
        template = N_("a shared directory entry {entry} ({name}): {why}")
    detail = template.format(entry=f"{entry.scheme}:{entry.identifier}", name=entry.name or N_("no name"), why=why)
    if channel is None:
        return _not("directory", "no-match", detail)
    recipient = {k: v for k, v in (("email", entry.email), ("peppol_id", entry.peppol_id), ("name", entry.name)) if v}
    return _decided("directory", channel, detail, recipient)


def _heuristic(buyer: Buyer, ctx: Context) -> Outcome:
    if not ctx.settings.public_siren_heuristic:
        return _not("heuristic", "skipped", N_("the public-SIREN heuristic is off ([routing] public_siren_heuristic)"))
    if buyer.country == "FR" and buyer.siren and buyer.siren[0] in "12":
        why = N_("SIREN {siren} starts with {digit}: a French public entity (opt-in heuristic)").format(siren=buyer.siren, digit=buyer.siren[0])
        return _decided("heuristic", CHORUS_PRO, why)
    if not buyer.siren:
        return _not("heuristic", "no-match", N_("the buyer has no SIREN"))
    return _not("heuristic", "no-match", N_("SIREN {siren} does not start with 1 or 2").format(siren=buyer.siren))


def _country_and_scheme_rules(buyer: Buyer, ctx: Context) -> Outcome:
    scheme = buyer.address[0] if buyer.address else None

    def matches(rule: Rule) -> bool:
        return rule.value == buyer.country if rule.kind == "country" else rule.value == scheme

    nothing = N_("no rule for country {country} or scheme {scheme}").format(country=buyer.country, scheme=scheme or N_("(no electronic address)"))
    return _first_rule(ctx.settings.rules_for(ctx.tenant, "country", "scheme"), matches, "rule", nothing)


def _peppol(buyer: Buyer, ctx: Context) -> Outcome:
    text = buyer.peppol_id()
    if text is None:
        return _not("peppol", "no-match", N_("the buyer's electronic address (BT-49) has no Peppol scheme"))
    mode = ctx.settings.peppol_participants
    if mode == "ignore":
        why = N_("{participant}: Peppol addresses are not used for routing (peppol_participants = ignore)").format(participant=text)
        return _not("peppol", "skipped", why)
    if PEPPOL not in ctx.configured:
        return _not("peppol", "skipped", N_("{participant}: no Peppol connector is configured for the tenant").format(participant=text))
    try:
        participant = ParticipantId.parse(text)
    except IdentifierError as exc:
        return _not("peppol", "no-match", N_("{participant} is not a valid Peppol participant id: {error}").format(participant=text, error=exc))
    recipient = {"peppol_id": participant.prefixed}
    if mode == "trust":
        return _decided("peppol", PEPPOL, N_("Peppol participant {participant} (BT-49, taken as given)").format(participant=participant), recipient)
    try:
        if ctx.peppol_lookup is None:
            raise ConnectorError(N_("no Peppol connector to look up with"), transient=False)
        ctx.peppol_lookup(participant)
    except ConnectorError as exc:
        if exc.transient:
            raise  # the look-up could not be done now: the delivery is retried, not routed elsewhere
        return _not("peppol", "not-found", N_("SML/SMP look-up of {participant}: {error}").format(participant=participant, error=exc.message))
    return _decided("peppol", PEPPOL, N_("Peppol participant {participant}: found by SML/SMP look-up").format(participant=participant), recipient)


def _email(buyer: Buyer, ctx: Context) -> Outcome:
    if not buyer.email:
        return _not("email", "no-match", N_("the buyer has no e-mail address (BT-58 or BT-49 with scheme EM)"))
    if EMAIL_CHANNEL not in ctx.configured:
        return _not("email", "skipped", N_("{email}: no e-mail connector is configured for the tenant").format(email=buyer.email))
    return _decided("email", EMAIL_CHANNEL, N_("the buyer's e-mail address {email}").format(email=buyer.email), {"email": buyer.email})


def _default(buyer: Buyer, ctx: Context) -> Outcome:
    return _first_rule(ctx.settings.rules_for(ctx.tenant, "default"), lambda r: True, "default", N_("no default rule"))


def _sandbox(buyer: Buyer, ctx: Context) -> Outcome:
    if not ctx.settings.sandbox:
        return _not("sandbox", "skipped", N_("the sandbox is off ([routing] sandbox = false)"))
    real = sorted(set(ctx.configured) - {SANDBOX})
    if real:
        why = N_("the tenant has a delivery channel configured ({channels}): the sandbox is used only until one is")
        return _not("sandbox", "skipped", why.format(channels=", ".join(real)))
    why = N_(
        "no delivery channel is configured for the tenant yet: the invoice goes to the sandbox, a simulated recipient (nothing leaves the "
        "gateway); configure a connector in config/routing.toml to deliver for real"
    )
    return _decided("sandbox", SANDBOX, why)


_SCHEME_NAMES = {SIRET: "SIRET", SIREN: "SIREN", VAT: N_("VAT number"), EMAIL: N_("e-mail")}


def _who(buyer: Buyer) -> str:
    """The buyer as a person would look it up: its name and its most specific identifier."""
    first = next(iter(buyer.identifiers()), None)
    if first is None:
        return buyer.name
    scheme, value = first
    return N_("{name} ({scheme} {identifier})").format(name=buyer.name, scheme=_SCHEME_NAMES.get(scheme, scheme), identifier=value)


def _advice(buyer: Buyer, ctx: Context) -> list[str]:
    """What would make a channel reach the buyer, most direct first."""
    advice = []
    participant = buyer.peppol_id()
    if participant and PEPPOL not in ctx.configured and ctx.settings.peppol_participants != "ignore":
        advice.append(N_("configure Peppol ([delivery.connectors.peppol]) to reach its Peppol address {participant}").format(participant=participant))
    if buyer.email and EMAIL_CHANNEL not in ctx.configured:
        advice.append(N_("configure e-mail ([delivery.connectors.email]) to send to {email}").format(email=buyer.email))
    if not participant and not buyer.email:
        advice.append(N_("give the buyer an electronic address (BT-49) or a contact e-mail (BT-58) in the invoice"))
    advice.append(N_("add the buyer to the directory (gateway directory import) or give it a routing rule in config/routing.toml"))
    return advice


def unroutable_reason(buyer: Buyer, ctx: Context) -> str:
    """Why nothing reaches the buyer, as something a person can act on."""
    advice = _advice(buyer, ctx)
    text = advice[-1]
    for other in reversed(advice[:-1]):
        text = N_("{advice}; or {other}").format(advice=other, other=text)
    return N_("No channel reaches the buyer {buyer}: {advice}, then retry the delivery.").format(buyer=_who(buyer), advice=text)


STEPS: tuple[Callable[[Buyer, Context], Outcome], ...] = (
    _buyer_rules,
    _directory,
    _heuristic,
    _country_and_scheme_rules,
    _peppol,
    _email,
    _default,
    _sandbox,
)


def route(invoice: Invoice, ctx: Context) -> Decision:
    """The channel for `invoice` with every step tried; a transient Peppol look-up failure raises ConnectorError (retry later)."""
    buyer = Buyer.of(invoice)
    steps: list[Step] = []
    for step in STEPS:
        outcome, channel, recipient = step(buyer, ctx)
        steps.append(outcome)
        if channel is not None:
            return Decision(channel, outcome.step, outcome.detail, steps, recipient)
    return Decision(None, None, unroutable_reason(buyer, ctx), steps)
