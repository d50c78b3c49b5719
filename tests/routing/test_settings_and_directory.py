"""The routing and delivery settings (refused when wrong, the documented examples valid) and the directory CSV import and CLI."""

from __future__ import annotations

import os
import re
import tomllib
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.sandbox import SandboxSettings
from gateway.cli import main
from gateway.config import ConfigError
from gateway.jobs.settings import DeliverySettings
from gateway.routing import directory
from gateway.routing.models import DirectoryEntry
from gateway.routing.settings import RoutingSettings
from gateway.store.session import Database
from gateway.store.tenants import create_tenant

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_file_and_its_commented_examples_are_valid(monkeypatch):
    text = (ROOT / "config" / "routing.toml").read_text()
    shipped = tomllib.loads(text)
    assert RoutingSettings.from_section(shipped["routing"]) == RoutingSettings()
    assert DeliverySettings.from_section(shipped["delivery"]) == DeliverySettings()
    examples = tomllib.loads(re.sub(r'^# (?=\[\[?[a-z."_-]+\]\]?\s*$|[a-z_]+ = )', "", text, flags=re.MULTILINE))
    rules = RoutingSettings.from_section(examples["routing"]).rules
    assert [rule.kind for rule in rules] == ["buyer", "buyer", "country", "scheme", "default"]
    for name in re.findall(r'_env = "([A-Z_]+)"', text):
        monkeypatch.setenv(name, f"value-of-{name}")
    settings = DeliverySettings.from_section(examples["delivery"])
    assert settings.configured("atelier-dupont") == {"email", "chorus_pro", "peppol", "sandbox"}
    assert SandboxSettings.from_mapping({**settings.connector_config("atelier-dupont", "sandbox"), "folder": "x", "tenant": "t"}) == SandboxSettings(
        Path("x"), "t"
    )  # the commented values are the defaults
    email = settings.connector_config("atelier-dupont", "email")
    assert (email["sender"], email["password"]) == ("factures@atelier-dupont.example", "value-of-GATEWAY_SMTP_PASSWORD")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"rules": [{"buyer": "1", "country": "FR", "channel": "email"}]}, "exactly one of"),
        ({"rules": [{"buyer": "1", "channel": "fax"}]}, "channel must be one of chorus_pro, email, peppol"),
        ({"rules": [{"country": "France", "channel": "email"}]}, "ISO 3166-1"),
        ({"rules": [{"default": False, "channel": "email"}]}, "default must be true"),
        ({"rules": [{"buyer": "1", "channel": "email", "colour": "blue"}]}, "unknown key(s) colour"),
        ({"peppol_participants": "maybe"}, "lookup, trust, ignore"),
        ({"public_siren_heuristic": "yes"}, "true or false"),
        ({"sandbox": "yes"}, "[routing] sandbox must be true or false"),
        ({"default_channel": "email"}, "unknown setting(s) [routing] default_channel"),
    ],
)
def test_routing_settings_are_refused_when_wrong(section, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        RoutingSettings.from_section(section)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"workers": 0}, "positive integer"),
        ({"workers": 1.5}, "positive integer"),
        ({"in_process_worker": 1}, "true or false"),
        ({"lease_seconds": "long"}, "positive number"),
        ({"retries": 3}, "unknown setting(s) [delivery] retries"),
        ({"documents": {"peppol": "facturx"}}, "peppol cannot carry a Factur-X PDF"),
        ({"documents": {"email": "pdf"}}, "must be one of facturx, ubl, cii"),
        ({"connectors": {"telex": {}}}, "channel must be one of"),
    ],
)
def test_delivery_settings_are_refused_when_wrong(section, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        DeliverySettings.from_section(section)


def test_a_missing_secret_variable_is_named():
    settings = DeliverySettings.from_section({"connectors": {"email": {"password_env": "GATEWAY_TEST_NOT_SET"}}})
    assert "GATEWAY_TEST_NOT_SET" not in os.environ
    with pytest.raises(ConfigError, match="GATEWAY_TEST_NOT_SET"):
        settings.connector_config("t", "email")
    assert settings.connector_config("t", "peppol") is None


CSV = """scheme,identifier,name,channel,public_sector,email,peppol_id
siret,356 000 000 00048,Boulangeries Martin,,yes,,
vat,fr39356000000,Boulangeries Martin,email,,factures@martin.example,
0225,443061841,Menuiserie Leroux,,,,0225:443061841
"""


def test_directory_import_adds_then_updates_and_refuses_bad_files_whole(gateway_config):
    database = Database(gateway_config)
    try:
        with database.session() as session:
            tenant = create_tenant(session, f"directory-{uuid.uuid4().hex[:8]}")
            assert directory.import_csv(session, CSV, tenant) == directory.ImportResult(3, 0)
            assert directory.import_csv(session, CSV.replace("Menuiserie Leroux", "Leroux & Fils"), tenant) == directory.ImportResult(0, 3)
            entries = session.scalars(select(DirectoryEntry).where(DirectoryEntry.tenant_id == tenant.id).order_by(DirectoryEntry.id)).all()
            assert [(e.scheme, e.identifier, e.public_sector, e.channel) for e in entries] == [
                ("0009", "35600000000048", True, None),
                ("VAT", "FR39356000000", False, "email"),
                ("0225", "443061841", False, None),
            ]
            assert entries[2].name == "Leroux & Fils" and entries[2].peppol_id == "0225:443061841"
            bad = CSV + "siret,12345,Nope,,,,\nfax,1,,,,,\nsiren,443061841,,telex,,,\nemail,x@y.example,,,maybe,,\n"
            with pytest.raises(directory.DirectoryError) as caught:
                directory.import_csv(session, bad, tenant)
            assert [p.split(":")[0] for p in caught.value.problems] == ["line 5", "line 6", "line 7", "line 8"]
            assert "not a valid SIRET" in caught.value.problems[0] and "unknown scheme" in caught.value.problems[1]
            with pytest.raises(directory.DirectoryError, match="1 problem"):
                directory.import_csv(session, "identifier,name\n1,x\n", tenant)
    finally:
        database.dispose()


def test_gateway_directory_import_command(gateway_config, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_config.database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(gateway_config.data_dir))
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(tmp_path / "no-config"))
    name = f"cli-{uuid.uuid4().hex[:8]}"
    assert main(["tenants", "create", name]) == 0
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(CSV)
    bad.write_text("scheme,identifier\nsiren,123\n")
    assert main(["directory", "import", str(good), "--tenant", name]) == 0
    assert "3 added, 0 updated (for tenant" in capsys.readouterr().out
    assert main(["directory", "import", str(bad), "--tenant", name]) == 2
    assert "line 2: '123' is not a valid SIREN" in capsys.readouterr().err
