"""Benchmark of the delivery connectors: prints deliveries/second, asserts only that each delivery arrived once.

- e-mail: the Factur-X PDF of the French B2B example to the loopback aiosmtpd server, one SMTP session per
  delivery (connect, EHLO, STARTTLS with a throwaway certificate, AUTH PLAIN, MAIL, RCPT, DATA, QUIT);
- Chorus Pro: a UBL invoice (unique number per delivery) to the loopback PISTE + Chorus Pro server: duplicate
  look-up (rechercher/fournisseur), deposer/flux, then consulterCRDetaille until IN_INTEGRE; one cached token;
  the buyer structure's rules looked up once and cached.

With 1, 2 and 4 threads sharing one connector instance. The servers run in the same process as the client
(same GIL, same 2 cores), so the figures are a floor for the client, not a measure of the network.

Usage (from the checkout root, since it uses the loopback servers of tests/connectors):
       python -m bench.bench_connectors [--deliveries 200] [--threads 1 2 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from connectors.base import Connector, Envelope
from connectors.chorus_pro import ChorusProConnector
from connectors.email import EmailConnector
from tests.connectors.chorus_pro_server import ChorusProServer
from tests.connectors.documents import BUYER_SIRET, SERVICE_CODE, envelope
from tests.connectors.smtp_server import SmtpServer, make_certificate


def run(connector: Connector, envelopes: list[Envelope], threads: int) -> float:
    """Seconds to deliver every envelope with `threads` workers; every receipt must be accepted."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        receipts = list(pool.map(connector.send, envelopes))
    elapsed = time.perf_counter() - started
    assert all(r.accepted for r in receipts), [r.message for r in receipts if not r.accepted][:3]
    return elapsed


def measure(label: str, connector: Connector, make: Callable[[str], Envelope], count: int, threads: list[int], delivered: Callable[[], int]) -> None:
    connector.send(make(f"{label}-warm-up"))  # token, structure cache, TLS context, imports
    for workers in threads:
        before = delivered()
        envelopes = [make(f"{label}-{workers}-{i}") for i in range(count)]
        seconds = run(connector, envelopes, workers)
        assert delivered() - before == count, f"{label}: {delivered() - before} deliveries arrived for {count} sent"
        print(f"{label:<11} {workers:>7} {count:>10} {seconds:>9.2f} {count / seconds:>13.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=200, help="deliveries per measurement (default 200)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()

    print(f"{'connector':<11} {'threads':>7} {'deliveries':>10} {'seconds':>9} {'deliveries/s':>13}")
    with tempfile.TemporaryDirectory() as directory:
        cert, key = make_certificate(Path(directory))
        with SmtpServer(cert, key) as smtp:
            connector = EmailConnector(smtp.client_config(cert))
            size = len(envelope("facturx").document)
            measure("e-mail", connector, lambda n: envelope("facturx", idempotency_key=n), args.deliveries, args.threads, lambda: len(smtp.messages))
            print(f"            (Factur-X attachment of {size:,} bytes)")

    with ChorusProServer() as chorus:
        chorus.add_structure(BUYER_SIRET, service_required=True, services={SERVICE_CODE: True})
        connector = ChorusProConnector(chorus.client_config())
        measure("Chorus Pro", connector, lambda n: envelope("ubl", number=n), args.deliveries, args.threads, lambda: len(chorus.deposits()))
        print(f"            ({sum(chorus.requests.values())} HTTP requests, {chorus.requests['/api/oauth/token']} token)")


if __name__ == "__main__":
    main()
