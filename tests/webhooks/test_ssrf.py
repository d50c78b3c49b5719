"""The SSRF guard of webhooks against real loopback receivers: forbidden addresses refused at subscription and at
send, the operator's allow-list, DNS answers that change (rebinding), the connection pinned to the checked address,
redirects not followed, TLS still naming the host.

The gateway of `strict_app` has no allow-list (http is allowed there, so that only addresses are judged); the
shared one (`api`, tests/conftest.py) allows 127.0.0.0/8 and ::1, as an on-premise operator would.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable

import pytest

from gateway.api.webhooks import KEY
from gateway.app import create_app
from gateway.config import Config, ConfigError
from gateway.store.session import upgrade
from gateway.store.tenants import tenant_for_key
from gateway.webhooks import guard, sender
from gateway.webhooks.models import WebhookDelivery
from gateway.webhooks.settings import WebhookSettings
from tests.api.conftest import Api, new_tenant_key
from tests.connectors.smtp_server import make_certificate
from tests.lifecycle.helpers import submit_outgoing
from tests.webhooks.conftest import deliveries, serving, subscribe, verified, verify

FORBIDDEN = [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address"),  # the cloud metadata service
    ("100.64.0.1", "a shared (CGNAT) address"),
    ("0.0.0.0", "the unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("[::1]", "a loopback address"),
    ("[::]", "the unspecified address"),
    ("[fc00::1]", "a private address"),
    ("[fd12:3456::1]", "a private address"),
    ("[fe80::1]", "a link-local address"),
    ("[ff02::1]", "a multicast address"),
    ("[fec0::1]", "a site-local address"),
    ("[::ffff:127.0.0.1]", "(IPv4 127.0.0.1) is a loopback address"),
    ("[::ffff:10.0.0.1]", "(IPv4 10.0.0.1) is a private address"),
    ("[::ffff:169.254.169.254]", "(IPv4 169.254.169.254) is a link-local address"),
    ("[2002:7f00:1::1]", "(relays to 127.0.0.1) is a loopback address"),  # 6to4
    ("[64:ff9b::a9fe:a9fe]", "a reserved address"),  # NAT64 of 169.254.169.254
]


@pytest.fixture(scope="module")
def strict_app(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("gateway-strict")
    config = Config(data_dir=data_dir, config_dir=data_dir / "no-config", sections={"webhooks": {"allow_http": True}})
    upgrade(config)
    app = create_app(config)
    yield app
    app.extensions["gateway.database"].dispose()


@pytest.fixture
def strict_api(strict_app) -> Api:
    return Api(strict_app, new_tenant_key(strict_app))


class Resolver:
    """The system resolver, except for `name`, whose successive lookups get the successive `answers` (the last one repeats).

    No DNS server the system resolver would ask can be run in a test, so its entry point is replaced: what the guard
    and the HTTP client resolve is exactly what is counted here."""

    def __init__(self, name: str, *answers: list[str]) -> None:
        self.name, self.answers, self.calls = name, list(answers), 0
        self.system = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        if host != self.name:
            return self.system(host, port, *args, **kwargs)
        self.calls += 1
        addresses = self.answers[min(self.calls, len(self.answers)) - 1]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]


@pytest.fixture
def resolver(monkeypatch) -> Callable[..., Resolver]:
    def install(name: str, *answers: list[str]) -> Resolver:
        fake = Resolver(name, *answers)
        monkeypatch.setattr(socket, "getaddrinfo", fake)
        return fake

    return install


def stored_delivery(app, api: Api, url: str) -> str:
    """A pending delivery to `url`, its subscription written straight to the database (as before the guard, or before
    DNS changed): the send-time check alone stands between it and the network."""
    with app.extensions["gateway.database"].session() as session:
        tenant = tenant_for_key(session, api.key)
        subscription, _secret = sender.subscribe(session, app.extensions[KEY], tenant.id, url, ["invoice.accepted"])
        session.flush()
        delivery = WebhookDelivery(tenant_id=tenant.id, subscription_id=subscription.id, event="invoice.accepted", payload=b"{}")
        session.add(delivery)
        session.flush()
        return delivery.id


def refused_details(api: Api, url: str) -> str:
    response = api.post("/api/v1/webhooks", json={"url": url, "events": ["invoice.accepted"]})
    assert response.status_code == 422, response.get_json()
    [detail] = response.get_json()["errors"]
    assert detail["pointer"] == "/url"
    return detail["detail"]


@pytest.mark.parametrize("host, kind", FORBIDDEN)
def test_forbidden_addresses_are_refused_at_subscription_and_at_send(strict_app, strict_api, host, kind):
    url = f"http://{host}:8080/hooks"
    assert kind in refused_details(strict_api, url) and "(SSRF guard)" in refused_details(strict_api, url)

    delivery_id = stored_delivery(strict_app, strict_api, url)
    sender.send_due(strict_app.extensions["gateway.database"])
    [delivery] = deliveries(strict_api)
    [attempt] = delivery["attempts"]
    assert (delivery["id"], delivery["state"], delivery["attempts_count"], attempt["http_status"]) == (delivery_id, "failed", 1, None)
    assert attempt["error"].startswith("not sent: host ") and kind in attempt["error"]  # failed at once: a retry would not change it


def test_localhost_is_refused_without_the_allow_list_and_delivered_with_it(strict_app, strict_api, api, database, receiver):
    url = receiver.url.replace("127.0.0.1", "localhost")
    assert "host localhost is not reachable from the gateway: 127.0.0.1 is a loopback address" in refused_details(strict_api, url)
    stored_delivery(strict_app, strict_api, url)
    sender.send_due(strict_app.extensions["gateway.database"])
    assert deliveries(strict_api)[0]["state"] == "failed" and receiver.received == []

    secret = subscribe(api, url, ["invoice.accepted"])
    submit_outgoing(api, "SSRF-LOCALHOST-1")
    sender.send_due(database)
    [body] = verified(receiver, secret)
    assert body["event"] == "invoice.accepted" and deliveries(api)[0]["state"] == "delivered"
    assert receiver.received[0].headers["Host"] == url.split("/")[2]  # named by its host, connected to its checked address


def test_the_allow_list_opens_only_its_networks(api):
    for url in ("http://10.1.2.3/hooks", "http://[::ffff:10.0.0.1]/hooks", "http://[fe80::1]/hooks", "http://169.254.169.254/latest/meta-data/"):
        assert "(SSRF guard)" in refused_details(api, url)
    for url in ("http://127.0.0.1:9/hooks", "http://[::1]:9/hooks", "http://[::ffff:127.0.0.1]:9/hooks"):
        subscribe(api, url)


def test_the_url_must_be_https_without_credentials_and_must_resolve(api, tmp_path):
    assert refused_details(api, "http://user:password@127.0.0.1:9/hooks") == "must not carry credentials (user:password@)"
    assert refused_details(api, "https://erp..example/hooks").startswith("host erp..example does not resolve")
    assert refused_details(api, "https://127.0.0.1:99999/hooks").startswith("not a valid URL")
    assert refused_details(api, "ftp://127.0.0.1/hooks") == "must be an absolute https or http URL"
    https_only = WebhookSettings(tmp_path / "key")
    with pytest.raises(guard.Refused, match="must be an absolute https URL"):
        guard.check("http://127.0.0.1/hooks", https_only)


def test_a_host_that_no_longer_resolves_is_retried(strict_app, strict_api, resolver):
    resolver("erp.gone.test", ["93.184.215.14"], [])
    subscribe(strict_api, "https://erp.gone.test/hooks")
    submit_outgoing(strict_api, "SSRF-GONE-1")
    sender.send_due(strict_app.extensions["gateway.database"])
    [delivery] = deliveries(strict_api)
    assert delivery["state"] == "retrying" and "does not resolve" in delivery["attempts"][0]["error"]


def test_a_host_rebound_to_loopback_after_subscribing_is_refused_at_send(strict_app, strict_api, receiver, resolver):
    port = receiver.url.split(":")[2].split("/")[0]
    lookups = resolver("erp.rebind.test", ["93.184.215.14"], ["127.0.0.1"])  # public when subscribing, loopback when sending
    subscribe(strict_api, f"http://erp.rebind.test:{port}/hooks", ["invoice.accepted"])
    submit_outgoing(strict_api, "SSRF-REBIND-1")
    sender.send_due(strict_app.extensions["gateway.database"])
    [delivery] = deliveries(strict_api)
    assert delivery["state"] == "failed" and "127.0.0.1 is a loopback address" in delivery["attempts"][0]["error"]
    assert receiver.received == [] and lookups.calls == 2


def test_the_request_goes_to_the_checked_address_not_to_a_second_resolution(api, database, receiver, resolver):
    port = receiver.url.split(":")[2].split("/")[0]
    # subscription, then the send's check; a third lookup (by the HTTP client) would get an address nothing listens on.
    # The send's answer lists first an address where the connection is refused: the next checked one is tried.
    lookups = resolver("erp.pinned.test", ["127.0.0.1"], ["127.0.0.2", "127.0.0.1"], ["127.0.0.3"])
    secret = subscribe(api, f"http://erp.pinned.test:{port}/hooks", ["invoice.accepted"])
    submit_outgoing(api, "SSRF-PIN-1")
    sender.send_due(database)
    assert deliveries(api)[0]["state"] == "delivered" and lookups.calls == 2
    [_body] = verified(receiver, secret)
    assert receiver.received[0].headers["Host"] == f"erp.pinned.test:{port}"


def test_a_redirect_is_not_followed(api, database, receiver):
    with serving() as elsewhere:
        receiver.answers, receiver.location = [302], elsewhere.url
        subscribe(api, receiver.url, ["invoice.accepted"])
        submit_outgoing(api, "SSRF-REDIRECT-1")
        sender.send_due(database)
        assert len(receiver.received) == 1 and elsewhere.received == []
    [delivery] = deliveries(api)
    [attempt] = delivery["attempts"]
    assert (delivery["state"], attempt["http_status"]) == ("retrying", 302)
    assert attempt["error"] == "HTTP 302: redirects are not followed (subscribe the final URL)"


def test_https_connects_to_the_checked_address_and_verifies_the_host_name(tmp_path):
    cert, key = make_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    loopback = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    trusting = WebhookSettings(tmp_path / "key", allow_private_networks=loopback, ca_file=str(cert))
    with serving(context) as receiver:
        target = guard.check(receiver.url, trusting)
        assert target.host == "localhost" and ipaddress.ip_address("127.0.0.1") in target.addresses
        assert sender.post(target, "whsec_tls", b'{"tls":true}', "invoice.accepted", "d-1", trusting) == (200, None)
        [got] = receiver.received
        assert receiver.server_names == ["localhost"] and got.headers["Host"] == receiver.url.split("/")[2]  # SNI and Host: the name
        assert verify("whsec_tls", got.body, got.headers["X-Gateway-Signature"])

        untrusting = WebhookSettings(tmp_path / "key", allow_private_networks=loopback)  # the public bundle: the test CA is unknown
        status, error = sender.post(target, "whsec_tls", b"{}", "invoice.accepted", "d-2", untrusting)
        assert status is None and "CERTIFICATE_VERIFY_FAILED" in error and len(receiver.received) == 1


@pytest.mark.parametrize(
    "section, message",
    [
        ({"allow_http": "yes"}, "allow_http must be true or false"),
        ({"allow_private_networks": "10.0.0.0/8"}, "must be a list of networks"),
        ({"allow_private_networks": ["10.0.0.0/33"]}, "allow_private_networks"),
        ({"ca_file": 1}, "ca_file must be a string"),
        ({"allow_redirects": True}, "unknown setting(s) in [webhooks]: allow_redirects"),
    ],
)
def test_a_bad_webhooks_table_stops_the_start(tmp_path, section, message):
    config = Config(data_dir=tmp_path, config_dir=tmp_path / "no-config", sections={"webhooks": section})
    with pytest.raises(ConfigError) as error:
        create_app(config)
    assert message in str(error.value)
