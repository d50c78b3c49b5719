"""A loopback PISTE + Chorus Pro server for tests and benchmarks: a real HTTP server in a thread.

It speaks the contract of connectors/chorus_pro/contract.py (token endpoint, deposer/flux, consulterCRDetaille,
rechercher/fournisseur, consulter/historique, structures, recuperer/formatflux) and has knobs to force the
failure cases: wrong credentials (configure the client differently), `expire_tokens()` (tokens revoked
mid-run), `reject_with` (flows end IN_REJETE with that error), `delay` (slow answers → client timeouts),
`fail_status` (e.g. 503, on `fail_only` paths or all), `stop()` / `start()` (down, then back on the same port), `processing_delay` (flows
stay IN_RECU for a while). Return codes and labels of errors are this server's own (the real ones are not
published in the sources we have).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import facturx

from connectors.chorus_pro import contract
from gateway.errors import InputError
from gateway.formats.xmlparse import parse_untrusted

ALL_SYNTAXES = (  # GO-CPRO enum (REGULATION §4.3)
    "IN_DP_E1_UBL_INVOICE",
    "IN_DP_E1_CII_16B",
    "IN_DP_E2_UBL_INVOICE_MIN",
    "IN_DP_E2_CPP_FACTURE_MIN",
    "IN_DP_E2_CII_MIN_16B",
    "IN_DP_E2_CII_FACTURX",
    "IN_DP_E3_UBL_INVOICE",
)
UBL_NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


@dataclass
class Structure:
    id: int
    siret: str
    parametres: dict[str, bool]
    services: dict[str, bool]  # code → active


@dataclass
class Flow:
    numero: str
    filename: str
    syntax: str
    document: bytes
    deposited: datetime
    ready_at: float  # time.monotonic() after which the flow is processed
    state: str = "IN_RECU"
    state_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    errors_dp: list[dict[str, str]] = field(default_factory=list)
    errors_tech: list[dict[str, str]] = field(default_factory=list)


@dataclass
class InvoiceRecord:
    id: int
    number: str
    flow: str
    history: list[tuple[str, datetime, str]]  # (statut, when, comment)


class ChorusProServer:
    """Start with `with ChorusProServer() as server:`; `server.url` is both the token host and the API base."""

    def __init__(
        self,
        *,
        client_id: str = "piste-app",
        client_secret: str = "piste-secret",
        login: str = "TECH_1_cpro@example.fr",
        password: str = "Secret-2026",
        token_ttl: int = 3600,
        port: int = 0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.account = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
        self.token_ttl = token_ttl
        self.port = port
        self.delay = 0.0
        self.before_deposit: Callable[[], object] | None = None  # called (outside the lock) as each deposit arrives: a test holds it there
        self.fail_status: int | None = None
        self.fail_only: set[str] | None = None  # paths that fail with fail_status (None: every API path)
        self.reject_with: str | None = None
        self.processing_delay = 0.0
        self.requests: Counter[str] = Counter()
        self.unauthorized = 0
        self.tokens: dict[str, float] = {}  # token → time.monotonic() of expiry
        self.structures: dict[str, Structure] = {}
        self.flows: dict[str, Flow] = {}
        self.invoices: dict[int, InvoiceRecord] = {}
        self._ids = itertools.count(1001)
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ChorusProServer:
        handler = type("Handler", (_Handler,), {"backend": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut the open keep-alive connections, as a server going down does."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> ChorusProServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return self.url + contract.TOKEN_PATH

    def client_config(self, **overrides: Any) -> dict[str, Any]:
        """A connector configuration that talks to this server with the right credentials."""
        login, password = base64.b64decode(self.account).decode().split(":", 1)
        config = {
            "token_url": self.token_url,
            "api_url": self.url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "login": login,
            "password": password,
            "timeout": 5.0,
            "report_wait": 2.0,
            "report_poll_interval": 0.02,
        }
        return config | overrides

    # ------------------------------------------------------------------ knobs and test helpers

    def expire_tokens(self) -> None:
        """Revoke every issued token, as if they had expired early: the next API call gets 401."""
        with self._lock:
            self.tokens.clear()

    def add_structure(
        self,
        siret: str,
        *,
        service_required: bool = False,
        commitment_required: bool = False,
        commitment_or_service: bool = False,
        services: dict[str, bool] | None = None,
    ) -> Structure:
        parametres = {
            contract.P_CODE_SERVICE_OBLIGATOIRE: service_required,
            contract.P_ENGAGEMENT_OBLIGATOIRE: commitment_required,
            contract.P_ENGAGEMENT_OU_SERVICE: commitment_or_service,
        }
        with self._lock:
            structure = Structure(next(self._ids), siret, parametres, dict(services or {}))
            self.structures[siret] = structure
            return structure

    def set_status(self, invoice_number: str, statut: str, comment: str = "", at: datetime | None = None) -> None:
        """The public buyer moves an invoice on (e.g. MISE_A_DISPOSITION, MISE_EN_PAIEMENT)."""
        with self._lock:
            record = next(r for r in self.invoices.values() if r.number == invoice_number)
            record.history.append((statut, at or datetime.now(UTC), comment))

    def deposits(self) -> list[Flow]:
        with self._lock:
            return list(self.flows.values())

    # ------------------------------------------------------------------ request handling

    def handle(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests[path] += 1
        if self.delay:
            time.sleep(self.delay)
        if path == contract.DEPOSER_FLUX and self.before_deposit is not None:
            self.before_deposit()
        if path == contract.TOKEN_PATH:
            return self._token(body)
        if self.fail_status and (self.fail_only is None or path in self.fail_only):
            return self.fail_status, {contract.CODE_RETOUR: self.fail_status, contract.LIBELLE: "Service indisponible"}
        if not self._authorised(headers):
            with self._lock:
                self.unauthorized += 1
            return 401, {"error": "invalid_token", contract.LIBELLE: "Jeton ou compte technique invalide"}
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return 400, {contract.CODE_RETOUR: 1, contract.LIBELLE: "Requête JSON invalide"}
        operation = self._operations().get(path)
        if operation is None:
            return 404, {contract.CODE_RETOUR: 404, contract.LIBELLE: f"Ressource inconnue {path}"}
        with self._lock:
            self._settle()
            return operation(request)

    def _operations(self) -> dict[str, Any]:
        return {
            contract.DEPOSER_FLUX: self._deposer_flux,
            contract.CONSULTER_CR_DETAILLE: self._consulter_cr_detaille,
            contract.RECHERCHER_FOURNISSEUR: self._rechercher_fournisseur,
            contract.CONSULTER_HISTORIQUE: self._consulter_historique,
            contract.RECHERCHER_STRUCTURE: self._rechercher_structure,
            contract.CONSULTER_STRUCTURE: self._consulter_structure,
            contract.RECHERCHER_SERVICES: self._rechercher_services,
            contract.RECUPERER_FORMAT_FLUX: self._recuperer_format_flux,
        }

    def _token(self, body: bytes) -> tuple[int, dict[str, Any]]:
        form = {k: v[0] for k, v in parse_qs(body.decode("ascii", "replace")).items()}
        if form.get("grant_type") != contract.TOKEN_GRANT_TYPE:
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        if form.get("scope") != contract.TOKEN_SCOPE:
            return 400, {"error": "invalid_scope"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl, "scope": contract.TOKEN_SCOPE}

    def _authorised(self, headers: Any) -> bool:
        bearer = headers.get("Authorization", "")
        token = bearer.removeprefix("Bearer ").strip()
        with self._lock:
            expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry and headers.get(contract.ACCOUNT_HEADER) == self.account

    # ------------------------------------------------------------------ operations (called with the lock held)

    def _deposer_flux(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        syntax = request.get(contract.F_SYNTAXE_FLUX)
        filename = request.get(contract.F_NOM_FICHIER) or ""
        if syntax not in ALL_SYNTAXES:
            return 400, {contract.CODE_RETOUR: 20001, contract.LIBELLE: f"Syntaxe du flux inconnue : {syntax}"}
        if not filename or len(filename) > contract.MAX_FILENAME:
            return 400, {contract.CODE_RETOUR: 20002, contract.LIBELLE: "Nom de fichier absent ou trop long"}
        try:
            document = base64.b64decode(request.get(contract.F_FICHIER_FLUX) or "", validate=True)
        except ValueError:
            return 400, {contract.CODE_RETOUR: 20003, contract.LIBELLE: "fichierFlux n'est pas du base64"}
        now = datetime.now(UTC)
        numero = f"CPP{next(self._ids):022d}"
        self.flows[numero] = Flow(numero, filename, syntax, document, now, time.monotonic() + self.processing_delay)
        return 200, {
            contract.CODE_RETOUR: 0,
            contract.LIBELLE: contract.SUCCESS_LIBELLE,
            contract.F_NUMERO_FLUX_DEPOT: numero,
            contract.F_DATE_DEPOT: now.astimezone(contract.PARIS).date().isoformat(),
            contract.F_SYNTAXE_FLUX: syntax,
        }

    def _settle(self) -> None:
        """Process the flows whose processing delay has passed: integrate them, or reject them."""
        for flow in self.flows.values():
            if flow.state != "IN_RECU" or time.monotonic() < flow.ready_at:
                continue
            flow.state_at = datetime.now(UTC)
            number, problem = _invoice_number(flow.syntax, flow.document)
            if problem:
                flow.state = "IN_REJETE"
                flow.errors_tech.append({contract.F_CODE_ERREUR: "TECH_SYNTAXE", contract.F_LIBELLE_ERREUR: problem})
            elif self.reject_with:
                flow.state = "IN_REJETE"
                flow.errors_dp.append(
                    {contract.F_NUMERO_DP: number, contract.F_LIBELLE_ERREUR_DP: self.reject_with, contract.F_IDENTIFIANT_DESTINATAIRE: ""}
                )
            else:
                flow.state = "IN_INTEGRE"
                record_id = next(self._ids)
                self.invoices[record_id] = InvoiceRecord(record_id, number, flow.numero, [("DEPOSEE", flow.state_at, "")])

    def _consulter_cr_detaille(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        flow = self.flows.get(request.get(contract.F_NUMERO_FLUX_DEPOT, ""))
        if flow is None:
            return 400, {contract.CODE_RETOUR: 20101, contract.LIBELLE: "Flux inconnu"}
        return 200, {
            contract.CODE_RETOUR: 0,
            contract.LIBELLE: contract.SUCCESS_LIBELLE,
            "nomFichier": flow.filename,
            "dateDepotFlux": contract.format_datetime(flow.deposited),
            contract.F_DATE_HEURE_ETAT_COURANT_FLUX: contract.format_datetime(flow.state_at),
            contract.F_ETAT_COURANT_DEPOT_FLUX: flow.state,
            contract.F_LISTE_ERREUR_DP: flow.errors_dp,
            contract.F_LISTE_ERREUR_TECHNIQUE: flow.errors_tech,
        }

    def _rechercher_fournisseur(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        since = request.get(contract.F_PERIODE_ETAT_COURANT_DU)
        since_at = contract.parse_datetime(since) if since else None
        found = [
            record
            for record in self.invoices.values()
            if request.get(contract.F_NUMERO_FACTURE) in (None, record.number)
            and request.get(contract.F_NUMERO_FLUX_DEPOT) in (None, record.flow)
            and (since_at is None or record.history[-1][1] >= since_at)
        ]
        paging = request.get(contract.F_PAGINATION_FOURNISSEUR) or {}
        size = int(paging.get(contract.F_NB_RESULTATS_PAR_PAGE) or 50)
        page = int(paging.get(contract.F_PAGE_DEMANDEE) or 1)
        pages = max(1, -(-len(found) // size))
        return 200, {
            contract.CODE_RETOUR: 0,
            contract.LIBELLE: contract.SUCCESS_LIBELLE,
            contract.F_LISTE_FACTURES: [_invoice_summary(r) for r in found[(page - 1) * size : page * size]],
            contract.F_PARAMETRES_RETOUR: {
                contract.F_NB_RESULTATS_PAR_PAGE: size,
                contract.F_PAGE_COURANTE: page,
                contract.F_PAGES: pages,
                contract.F_TOTAL: len(found),
            },
        }

    def _consulter_historique(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        record = self.invoices.get(int(request.get(contract.F_ID_FACTURE) or 0))
        if record is None:
            return 400, {contract.CODE_RETOUR: 20201, contract.LIBELLE: "Facture inconnue"}
        entries = [
            {
                contract.F_HISTO_STATUT_ID: index,
                contract.F_HISTO_STATUT_CODE: statut,
                contract.F_HISTO_STATUT_DATE: contract.format_history_datetime(at),
                contract.F_HISTO_STATUT_COMMENTAIRE: comment,
            }
            for index, (statut, at, comment) in enumerate(record.history, 1)
        ]
        return 200, {
            contract.CODE_RETOUR: 0,
            contract.LIBELLE: contract.SUCCESS_LIBELLE,
            contract.F_ID_FACTURE: record.id,
            contract.F_NUMERO_FACTURE: record.number,
            contract.F_STATUT_COURANT_CODE: record.history[-1][0],
            contract.F_HISTORIQUES_STATUTS: {contract.F_HISTO_STATUT: entries, "totalHistoStatut": len(entries)},
        }

    def _rechercher_structure(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        criteria = request.get(contract.F_STRUCTURE) or {}
        structure = self.structures.get(criteria.get(contract.F_IDENTIFIANT_STRUCTURE, ""))
        found = [] if structure is None else [{contract.F_ID_STRUCTURE_CPP: structure.id, contract.F_IDENTIFIANT_STRUCTURE: structure.siret}]
        return 200, {contract.CODE_RETOUR: 0, contract.LIBELLE: contract.SUCCESS_LIBELLE, contract.F_LISTE_STRUCTURES: found}

    def _structure_by_id(self, request: dict[str, Any]) -> Structure | None:
        return next((s for s in self.structures.values() if s.id == request.get(contract.F_ID_STRUCTURE)), None)

    def _consulter_structure(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        structure = self._structure_by_id(request)
        if structure is None:
            return 400, {contract.CODE_RETOUR: 20301, contract.LIBELLE: "Structure inconnue"}
        return 200, {contract.CODE_RETOUR: 0, contract.LIBELLE: contract.SUCCESS_LIBELLE, contract.F_PARAMETRES: structure.parametres}

    def _rechercher_services(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        structure = self._structure_by_id(request)
        if structure is None:
            return 400, {contract.CODE_RETOUR: 20301, contract.LIBELLE: "Structure inconnue"}
        services = [{contract.F_CODE_SERVICE: code, contract.F_EST_ACTIF: active} for code, active in structure.services.items()]
        return 200, {contract.CODE_RETOUR: 0, contract.LIBELLE: contract.SUCCESS_LIBELLE, contract.F_LISTE_SERVICES: services}

    def _recuperer_format_flux(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        formats = [{contract.F_FORMAT_FLUX: syntax} for syntax in ALL_SYNTAXES]
        return 200, {contract.CODE_RETOUR: 0, contract.LIBELLE: contract.SUCCESS_LIBELLE, contract.F_LISTE_FORMAT_FLUX: formats}


def _invoice_summary(record: InvoiceRecord) -> dict[str, Any]:
    statut, at, _ = record.history[-1]
    return {
        contract.F_IDENTIFIANT_FACTURE_CPP: record.id,
        contract.F_NUMERO_FACTURE: record.number,
        contract.F_NUMERO_FLUX_DEPOT: record.flow,
        contract.F_STATUT: statut,
        contract.F_DATE_HEURE_ETAT_COURANT: contract.format_datetime(at),
    }


def _invoice_number(syntax: str, document: bytes) -> tuple[str, str]:
    """(invoice number, "") when the file matches its declared syntax, else ("", the problem)."""
    try:
        if syntax == contract.SYNTAXE_FLUX["facturx"]:
            if not document.startswith(b"%PDF-"):
                return "", "le fichier n'est pas un PDF"
            _, xml = facturx.get_xml_from_pdf(document, check_xsd=False)
            if not xml:
                return "", "aucun XML Factur-X dans le PDF"
            document = xml
        root = parse_untrusted(document).getroot()
    except (InputError, ValueError) as exc:
        return "", f"fichier illisible : {exc}"
    if syntax == contract.SYNTAXE_FLUX["ubl"]:
        number = root.findtext("cbc:ID", namespaces=UBL_NS) if root.tag.endswith("}Invoice") or root.tag.endswith("}CreditNote") else None
    else:
        number = root.findtext("rsm:ExchangedDocument/ram:ID", namespaces=CII_NS) if root.tag.endswith("}CrossIndustryInvoice") else None
    return (number, "") if number else ("", f"le fichier ne correspond pas à la syntaxe {syntax}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real gateway
    disable_nagle_algorithm = True  # no 40 ms Nagle / delayed-ACK stall per request
    wbufsize = -1  # headers and body leave in one write (flushed by handle_one_request)
    backend: ChorusProServer

    def setup(self) -> None:
        super().setup()
        with self.backend._lock:
            self.backend._connections.add(self.connection)

    def finish(self) -> None:
        with self.backend._lock:
            self.backend._connections.discard(self.connection)
        with contextlib.suppress(OSError):  # flushing to a client that already left
            super().finish()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, answer = self.backend.handle(self.path, self.headers, body)
        payload = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:  # the client gave up (timeout tests) or the server was stopped
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests assert on counters, not on logs."""
