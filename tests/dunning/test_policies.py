"""Bad input: a policy with overlapping or negative delays, unknown channels, a template error, a bad SIREN → 422
naming each problem by its JSON pointer, nothing stored, nothing sent; a good policy is stored as given."""

from __future__ import annotations

import copy

import pytest

from tests.dunning.helpers import POLICY


def _with(change) -> dict:
    policy = copy.deepcopy(POLICY)
    change(policy)
    return policy


REFUSED = [
    ("overlapping delays", _with(lambda p: p["tiers"][1].update(days=7)), "/tiers/1/days", "overlaps tier 'rappel'"),
    ("delays out of order", _with(lambda p: p["tiers"][2].update(days=10)), "/tiers/2/days", "delays must increase"),
    ("negative delay", _with(lambda p: p["tiers"][0].update(days=-3)), "/tiers/0/days", "cannot be negative"),
    ("unknown channel", _with(lambda p: p["tiers"][0].update(channels=["fax"])), "/tiers/0/channels", "email, webhook, letter"),
    ("unknown tone", _with(lambda p: p["tiers"][0].update(tone="angry")), "/tiers/0/tone", "friendly, firm, formal_notice"),
    ("after the notice", _with(lambda p: p["tiers"].append({"name": "huissier", "days": 90, "channels": ["letter"]})), "/tiers/3",
     "no tier can follow the formal notice"),
    ("template syntax", _with(lambda p: p["tiers"][0].update(templates={"fr": {"subject": "Facture {{ invoice.number "}})),
     "/tiers/0/templates/fr/subject", "template error"),
    ("unknown value", _with(lambda p: p["tiers"][0].update(templates={"en": {"body": "Pay {{ invoice.amount_owed }}"}})),
     "/tiers/0/templates/en/body", "amount_owed"),
    ("sandbox escape", _with(lambda p: p["tiers"][0].update(templates={"fr": {"body": "{{ invoice.__class__.__mro__ }}"}})),
     "/tiers/0/templates/fr/body", "template error"),
    ("no tiers", {"tiers": []}, "/tiers", "non-empty"),
    ("unknown member", _with(lambda p: p.update(grace=3)), "/grace", "unknown member"),
    ("bad rate", _with(lambda p: p.update(penalty_rate="douze")), "/penalty_rate", "yearly percentage"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "body", "pointer", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_bad_policy_is_refused_with_its_pointer_and_nothing_is_stored(api, why, body, pointer, words):
    response = api.put("/api/v1/dunning/policies/default", json=body)
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["code"] == "invalid_policy"
    assert any(d["pointer"] == pointer and words in d["detail"] for d in problem["errors"]), problem
    assert api.get("/api/v1/dunning/policies").get_json()["policies"] == []


def test_a_buyer_policy_needs_a_valid_siren_and_the_default_is_kept_as_given(api):
    assert api.put("/api/v1/dunning/policies/356000001", json=POLICY).status_code == 422
    assert api.put("/api/v1/dunning/policies/356000000", json=POLICY).status_code == 200
    assert api.put("/api/v1/dunning/policies/default", json=POLICY).status_code == 200
    listed = api.get("/api/v1/dunning/policies").get_json()
    assert [(p["buyer"], p["policy"]) for p in listed["policies"]] == [(None, POLICY), ("356000000", POLICY)]
    assert api.delete("/api/v1/dunning/policies/356000000").status_code == 204
    assert api.delete("/api/v1/dunning/policies/356000000").status_code == 404
    assert api.put("/api/v1/dunning/policies/default", data="{", headers={"Content-Type": "application/json"}).status_code == 400


def test_a_tenant_sees_only_its_own_policies_and_reminders(api, other_api):
    assert api.put("/api/v1/dunning/policies/default", json=POLICY).status_code == 200
    assert other_api.get("/api/v1/dunning/policies").get_json()["policies"] == []
    assert other_api.delete("/api/v1/dunning/policies/default").status_code == 404
