"""Fault-test fixtures: the loopback Chorus Pro and SMTP servers, one pair per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.jobs import helpers


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[helpers.Networks]:
    with helpers.networks(tmp_path_factory.mktemp("networks")) as networks:
        yield networks
