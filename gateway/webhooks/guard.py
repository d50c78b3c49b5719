"""The SSRF guard: a webhook URL must not make the gateway a proxy into the operator's own network.

A tenant chooses the URL and the gateway POSTs to it from inside the operator's network, where the cloud
metadata service (169.254.169.254), admin ports on loopback and RFC 1918 hosts answer.  So:

- at subscription, the URL must be https (http only with `[webhooks] allow_http`), carry no `user:password@`,
  and its host must resolve to public addresses only;
- at every send the host is resolved again (DNS may have changed since: rebinding), and the delivery is
  refused if ANY address is loopback, private (RFC 1918, ULA), link-local, multicast, unspecified, reserved,
  shared (CGNAT 100.64/10) or otherwise not global; an IPv4-mapped `::ffff:a.b.c.d` is judged as the IPv4
  address it reaches, a 6to4 address as itself and its IPv4 relay (NAT64 `64:ff9b::/96` falls in the reserved
  `::/8`, refused);
- the request then goes to a checked address itself: the URL is rewritten to that IP (the next one if the
  connection cannot be made), while the Host header and, for https, the TLS server name (SNI and the
  certificate check, through urllib3's `server_hostname`) keep the host name.  No second resolution happens,
  so none can swap the address;
- redirects are never followed (a 3xx is a failed attempt), and the environment's proxies and .netrc are
  ignored (`trust_env = False`): a proxy would resolve the name again, out of the guard's sight.

`[webhooks] allow_private_networks` lists the networks the operator allows all the same (on-premise ERPs,
tests on loopback); an address inside one of them passes.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from gateway.webhooks.settings import Network, WebhookSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
CGNAT = ipaddress.ip_network("100.64.0.0/10")
# What makes an address unfit, the first that applies named in the refusal.
_KINDS = (
    ("a loopback address", lambda a: a.is_loopback),
    ("the unspecified address", lambda a: a.is_unspecified),
    ("a link-local address", lambda a: a.is_link_local),
    ("a multicast address", lambda a: a.is_multicast),
    ("a shared (CGNAT) address", lambda a: a in CGNAT),
    ("a reserved address", lambda a: a.is_reserved),
    ("a private address", lambda a: a.is_private),
    ("a site-local address", lambda a: a.version == 6 and a.is_site_local),
    ("not a public address", lambda a: not a.is_global),
)


class Refused(ValueError):
    """A URL the gateway does not send to; `permanent` is False only when its host did not resolve (DNS may recover)."""

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (every resolved address, each having passed) and what to call the host."""

    scheme: str
    host: str  # the URL's host name: TLS server name and certificate check
    netloc: str  # host[:port] as written: the Host header
    port: int
    path: str  # path and query
    addresses: tuple[IPAddress, ...]

    def pinned_url(self, address: IPAddress) -> str:
        """The URL with `address` in place of the host name."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return urlunsplit((self.scheme, f"{host}:{self.port}", self.path, "", ""))


def refusal(address: IPAddress, allowed: tuple[Network, ...] = ()) -> str | None:
    """Why the gateway must not connect to `address`, or None (public, or inside an allowed network)."""
    shown = str(address)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack socket to ::ffff:a.b.c.d reaches a.b.c.d
        shown = f"{shown} (IPv4 {address})"
    if any(address in network for network in allowed):
        return None
    relay = address.sixtofour if address.version == 6 else None  # 2002:a.b.c.d::/48 is relayed to a.b.c.d
    for candidate in (relay, address) if relay else (address,):  # the relay first: the more telling reason
        for kind, applies in _KINDS:
            if applies(candidate):
                return f"{shown}{'' if candidate == address else f' (relays to {candidate})'} is {kind}"
    return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order (a literal IP is itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"host {host} does not resolve ({exc})", permanent=False) from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def check(url: str, settings: WebhookSettings) -> Target:
    """The checked target of `url`, resolved now; Refused with the reason otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    schemes = ("https", "http") if settings.allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise Refused(f"must be an absolute {' or '.join(schemes)} URL")
    if "@" in parts.netloc:
        raise Refused("must not carry credentials (user:password@)")
    if not parts.hostname.isascii():
        raise Refused("an international host name must be written in its ASCII (xn--) form")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    for address in addresses:
        reason = refusal(address, settings.allow_private_networks)
        if reason:
            raise Refused(f"host {parts.hostname} is not reachable from the gateway: {reason} (SSRF guard)")
    path = parts.path or "/"
    return Target(parts.scheme, parts.hostname, parts.netloc, port, f"{path}?{parts.query}" if parts.query else path, tuple(addresses))


class _ServerName(HTTPAdapter):
    """Connects to the host of the (pinned) URL, but presents and verifies `server_name` in TLS (SNI and certificate)."""

    def __init__(self, server_name: str) -> None:
        self.server_name = server_name
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, server_hostname=self.server_name, **kwargs)


def _not_connected(exc: requests.RequestException) -> bool:
    """Whether the request failed before a connection was made (so nothing was sent)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)


def post(target: Target, body: bytes, headers: dict[str, str], settings: WebhookSettings, timeout: float) -> requests.Response:
    """POST `body` to a checked address of `target`, named by its host; no redirect followed, the answer's body unread.

    The addresses are tried in the resolver's order while connecting fails, as a client resolving the name would."""
    with requests.Session() as session:
        session.trust_env = False
        session.mount("https://", _ServerName(target.host))

        def send(address: IPAddress) -> requests.Response:
            return session.post(
                target.pinned_url(address), data=body, headers={**headers, "Host": target.netloc}, timeout=timeout, allow_redirects=False,
                stream=True, verify=settings.ca_file or True,
            )  # fmt: skip

        for address in target.addresses[:-1]:
            try:
                response = send(address)
                break
            except requests.ConnectionError as exc:
                if not _not_connected(exc):
                    raise
        else:
            response = send(target.addresses[-1])
        response.close()
    return response
