"""Routing decisions, one per rule kind and per step, and the unroutable case, on SQLite and PostgreSQL (the directory is a table)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.routing import directory
from gateway.routing.router import Buyer, Context, Decision, Step, route
from gateway.routing.settings import RoutingSettings
from gateway.store.session import Database
from gateway.store.tenants import create_tenant
from tests.conftest import load_example

ALL = ("chorus_pro", "peppol", "email")
PUBLIC_SIRET = "35600000000048"  # the example's buyer


@pytest.fixture(scope="module")
def database(gateway_config) -> Iterator[Database]:
    database = Database(gateway_config)
    yield database
    database.dispose()


@pytest.fixture
def session(database):
    with database.session() as session:
        yield session


@pytest.fixture
def tenant(session):
    return create_tenant(session, f"routing-{uuid.uuid4().hex[:10]}")


def invoice(**buyer: Any) -> Invoice:
    """The French B2B example with changes to its buyer (None removes a field)."""
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["buyer"] = {k: v for k, v in {**data["buyer"], **buyer}.items() if v is not None}
    return invoice_from_json(data)


PRIVATE = {
    "identifiers": [{"value": "44306184100047", "scheme": "0009"}],
    "legal_registration_id": {"value": "443061841", "scheme": "0002"},
    "vat_id": "FR64443061841",
    "electronic_address": {"value": "443061841", "scheme": "0225"},
    "contact": {"email": "compta@menuiserie-leroux.example"},
}


def decide(session, tenant, inv: Invoice, configured=ALL, **settings: Any) -> Decision:
    return route(inv, Context(session, tenant.id, tenant.name, RoutingSettings.from_section(settings), configured))


def test_buyer_identifiers_are_read_from_the_invoice():
    buyer = Buyer.of(invoice(electronic_address={"value": "356000000_35600000000055", "scheme": "0225"}))
    assert buyer.identifiers() == [
        ("0009", "35600000000048"),
        ("0009", "35600000000055"),  # the SIRET inside a <SIREN>_<SIRET> electronic address
        ("0225", "356000000_35600000000055"),
        ("0002", "356000000"),
        ("VAT", "FR39356000000"),
        ("EM", "CLAIRE.MARTIN@BOULANGERIES-MARTIN.EXAMPLE"),
    ]
    assert Buyer.of(invoice(electronic_address={"value": "a@b.example", "scheme": "EM"}, contact=None)).email == "a@b.example"


@pytest.mark.parametrize(
    ("value", "note"),
    [(PUBLIC_SIRET, "SIRET"), ("356000000", "SIREN"), ("fr 39 356000000", "VAT, written loosely"), ("0225:356000000", "scheme:value")],
)
def test_a_buyer_rule_matches_any_identifier(session, tenant, value, note):
    decision = decide(session, tenant, invoice(), rules=[{"buyer": value, "channel": "chorus_pro", "note": note}])
    assert (decision.channel, decision.decided_by) == ("chorus_pro", "rule")
    assert decision.reason.startswith("routing rule #1: buyer = ") and decision.reason.endswith(f"({note})")
    assert [s.step for s in decision.steps] == ["rule"]


def test_a_tenants_own_rule_wins_over_a_rule_for_everyone(session, tenant):
    rules = [{"buyer": "356000000", "channel": "email"}, {"buyer": "356000000", "channel": "chorus_pro", "tenant": tenant.name}]
    assert decide(session, tenant, invoice(), rules=rules).channel == "chorus_pro"
    assert decide(session, tenant, invoice(), rules=[{"buyer": "356000000", "channel": "peppol", "tenant": "someone-else"}]).channel == "peppol"


def test_country_and_scheme_rules_in_file_order(session, tenant):
    belgian = invoice(address={"city": "Bruxelles", "country_code": "BE"}, electronic_address={"value": "0123456749", "scheme": "0208"})
    rules = [{"scheme": "0208", "channel": "peppol"}, {"country": "BE", "channel": "email"}]
    decision = decide(session, tenant, belgian, rules=rules, peppol_participants="ignore")
    assert (decision.channel, decision.reason) == ("peppol", "routing rule #1: scheme = 0208 → peppol")
    decision = decide(session, tenant, belgian, rules=list(reversed(rules)), peppol_participants="ignore")
    assert (decision.channel, decision.reason) == ("email", "routing rule #1: country = BE → email")


def test_a_default_rule_applies_last(session, tenant):
    bare = invoice(**{k: None for k in ("identifiers", "legal_registration_id", "vat_id", "electronic_address", "contact")})
    decision = decide(session, tenant, bare, rules=[{"default": True, "channel": "email"}])
    assert (decision.channel, decision.decided_by) == ("email", "default")
    assert [s.step for s in decision.steps] == ["rule", "directory", "heuristic", "rule", "peppol", "email", "default"]


def test_the_directory_decides_public_buyers_and_the_tenants_entry_wins(session, tenant):
    directory.import_csv(session, f"scheme,identifier,name,public_sector\nsiret,{PUBLIC_SIRET},Mairie test,true\n")  # shared
    try:
        decision = decide(session, tenant, invoice())
        assert (decision.channel, decision.decided_by) == ("chorus_pro", "directory")
        assert decision.reason == f"a shared directory entry 0009:{PUBLIC_SIRET} (Mairie test): it is a public-sector buyer"
        directory.import_csv(session, "scheme,identifier,name,email\nsiren,356000000,Boulangeries Martin,factures@martin.example\n", tenant)
        decision = decide(session, tenant, invoice())  # the SIRET is more specific than the SIREN, but the tenant's own entry …
        assert decision.channel == "chorus_pro"  # … only wins for the same identifier: the SIRET entry still decides
        directory.import_csv(session, f"scheme,identifier,channel,email\nsiret,{PUBLIC_SIRET},email,factures@martin.example\n", tenant)
        decision = decide(session, tenant, invoice())
        assert (decision.channel, decision.recipient) == ("email", {"email": "factures@martin.example"})
        assert decision.reason.startswith("the tenant's directory entry")
    finally:
        session.rollback()  # the shared entry must not route other tests' invoices


def test_the_public_siren_heuristic_is_opt_in(session, tenant):
    commune = invoice(legal_registration_id={"value": "213105554", "scheme": "0002"}, identifiers=None, vat_id=None, electronic_address=None)
    decision = decide(session, tenant, commune)
    assert decision.channel == "email" and decision.steps[2].outcome == "skipped"
    decision = decide(session, tenant, commune, public_siren_heuristic=True)
    assert (decision.channel, decision.decided_by) == ("chorus_pro", "heuristic")
    assert "SIREN 213105554 starts with 2" in decision.reason
    assert decide(session, tenant, invoice(**PRIVATE), public_siren_heuristic=True).decided_by != "heuristic"


def test_peppol_participants_trusted_ignored_or_without_connector(session, tenant):
    trusted = decide(session, tenant, invoice(**PRIVATE))
    assert (trusted.channel, trusted.recipient) == ("peppol", {"peppol_id": "0225:443061841"})
    ignored = decide(session, tenant, invoice(**PRIVATE), peppol_participants="ignore")
    assert (ignored.channel, ignored.steps[4].outcome) == ("email", "skipped")
    unconfigured = decide(session, tenant, invoice(**PRIVATE), configured=("email",))
    assert unconfigured.channel == "email" and "no Peppol connector is configured" in unconfigured.steps[4].detail
    invalid = decide(session, tenant, invoice(**{**PRIVATE, "electronic_address": {"value": "123", "scheme": "0225"}}))
    assert invalid.channel == "email" and "not a valid Peppol participant id" in invalid.steps[4].detail


def test_no_route_is_unroutable_with_every_reason(session, tenant):
    decision = decide(session, tenant, invoice(**PRIVATE), configured=(), sandbox=False)
    assert (decision.channel, decision.decided_by) == (None, None)
    outcomes = [(s.step, s.outcome) for s in decision.steps]
    assert outcomes == [
        ("rule", "no-match"),
        ("directory", "not-found"),
        ("heuristic", "skipped"),
        ("rule", "no-match"),
        ("peppol", "skipped"),
        ("email", "skipped"),
        ("default", "no-match"),
        ("sandbox", "skipped"),
    ]
    assert "no e-mail connector is configured" in decision.steps[5].detail
    assert decision.to_dict()["steps"][1]["detail"].startswith("no directory entry for 0009:44306184100047")
    assert decision.steps[7].detail == "the sandbox is off ([routing] sandbox = false)"
    assert decision.reason == (
        "No channel reaches the buyer Boulangeries Martin SARL (SIRET 44306184100047): configure Peppol ([delivery.connectors.peppol]) to "
        "reach its Peppol address 0225:443061841; or configure e-mail ([delivery.connectors.email]) to send to "
        "compta@menuiserie-leroux.example; or add the buyer to the directory (gateway directory import) or give it a routing rule in "
        "config/routing.toml, then retry the delivery."
    )


def test_a_buyer_nothing_can_reach_is_told_what_the_invoice_lacks(session, tenant):
    bare = invoice(**{k: None for k in ("identifiers", "legal_registration_id", "vat_id", "electronic_address", "contact")})
    decision = decide(session, tenant, bare, configured=("email",))
    assert decision.channel is None and decision.steps[-1] == Step(
        "sandbox", "skipped", "the tenant has a delivery channel configured (email): the sandbox is used only until one is"
    )
    assert decision.reason == (
        "No channel reaches the buyer Boulangeries Martin SARL: give the buyer an electronic address (BT-49) or a contact e-mail (BT-58) in "
        "the invoice; or add the buyer to the directory (gateway directory import) or give it a routing rule in config/routing.toml, then "
        "retry the delivery."
    )


def test_a_tenant_without_any_channel_delivers_to_the_sandbox_and_is_told_why(session, tenant):
    for configured in ((), ("sandbox",)):  # settings of the sandbox itself are no real channel
        decision = decide(session, tenant, invoice(), configured=configured)
        assert (decision.channel, decision.decided_by, decision.recipient) == ("sandbox", "sandbox", {})
        assert [s.step for s in decision.steps] == ["rule", "directory", "heuristic", "rule", "peppol", "email", "default", "sandbox"]
        assert decision.reason == (
            "no delivery channel is configured for the tenant yet: the invoice goes to the sandbox, a simulated recipient (nothing leaves "
            "the gateway); configure a connector in config/routing.toml to deliver for real"
        )


def test_once_a_real_channel_is_configured_the_sandbox_is_never_chosen_silently(session, tenant):
    for configured in (("email",), ("peppol", "sandbox"), ("chorus_pro",)):
        decision = decide(session, tenant, invoice(**PRIVATE), configured=configured, peppol_participants="ignore")
        assert decision.channel != "sandbox" and "sandbox" not in [s.step for s in decision.steps if s.outcome == "decided"], configured
    said = decide(session, tenant, invoice(), configured=(), rules=[{"buyer": PUBLIC_SIRET, "channel": "chorus_pro"}])
    assert (said.channel, said.decided_by) == ("chorus_pro", "rule")  # what the tenant said wins, even without a connector
    chosen = decide(session, tenant, invoice(), configured=ALL, rules=[{"buyer": PUBLIC_SIRET, "channel": "sandbox", "tenant": tenant.name}])
    assert (chosen.channel, chosen.decided_by) == ("sandbox", "rule")  # a rule may name the sandbox: that is no silence
