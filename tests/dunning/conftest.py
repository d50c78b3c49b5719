"""Dunning on SQLite and PostgreSQL (the lifecycle tests' app and API fixtures): a fresh tenant per test, a loopback SMTP
server (aiosmtpd, STARTTLS + AUTH) as the tenants' e-mail connector."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.dunning.channels import Mailer
from gateway.dunning.settings import DunningSettings
from tests.connectors.smtp_server import SmtpServer, make_certificate
from tests.lifecycle.conftest import api, app, archive, database, other_api  # noqa: F401  (the same API fixtures)


@pytest.fixture(scope="session")
def smtp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dunning-smtp")
    cert, key = make_certificate(folder)
    with SmtpServer(cert, key) as server:
        server.ca_file = cert
        yield server


@pytest.fixture
def mailer(smtp, gateway_config) -> Mailer:
    config = replace(gateway_config, sections={"delivery": {"connectors": {"email": smtp.client_config(smtp.ca_file)}}})
    return Mailer(config)


@pytest.fixture
def settings() -> DunningSettings:
    return DunningSettings()
