"""The Chorus Pro connector: deposit an invoice file as a flow, read its deposit report, poll invoice statuses.

send() = pre-send checks → (optional) look for an invoice already deposited under the same number → deposer/flux
→ consulterCRDetaille until the flow is integrated or rejected, or `report_wait` seconds have passed; a report
still pending then gives a pending Receipt, whose verdict the scheduler asks for later (`final_receipt`).
Chorus Pro offers no idempotency key, so the duplicate look-up is what protects a retry after a crash between
the deposit and its recording; it only sees invoices already integrated (see the report's limits).
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stdnum.fr import siret as stdnum_siret

from connectors.base import ConnectorError, Envelope, Receipt, StatusUpdate
from connectors.chorus_pro import contract
from connectors.chorus_pro.checks import StructureRules, check_document, check_public_buyer, normalise_siret
from connectors.chorus_pro.client import PisteClient


@dataclass(frozen=True)
class DepositReport:
    """The state of a deposited flow (consulterCRDetaille) and its errors, as readable lines."""

    numero_flux_depot: str
    state: str
    errors: list[str] = field(default_factory=list)
    raw: bytes = b""

    @property
    def final(self) -> bool:
        return self.state in contract.FLOW_INTEGRATED or self.state in contract.FLOW_REJECTED

    @property
    def rejected(self) -> bool:
        return self.state in contract.FLOW_REJECTED


class ChorusProConnector:
    """Connector `chorus_pro`. Configuration keys: client_id, client_secret, login, password (technical account),
    environment ("sandbox" | "production"), or token_url + api_url; optional supplier_id (idFournisseur), timeout,
    token_margin, report_wait, report_poll_interval, check_structure, check_duplicates, structure_cache_seconds, verify_tls."""

    name = "chorus_pro"

    def __init__(self, config: Mapping[str, Any]) -> None:
        urls = contract.ENVIRONMENTS[config.get("environment", "sandbox")]
        timeout = float(config.get("timeout", 30.0))
        self.client = PisteClient(
            token_url=config.get("token_url", urls["token_url"]),
            api_url=config.get("api_url", urls["api_url"]),
            client_id=config["client_id"],
            client_secret=config["client_secret"],
            login=config["login"],
            password=config["password"],
            timeout=(min(5.0, timeout), timeout),
            token_margin=float(config.get("token_margin", 60.0)),
            verify=config.get("verify_tls", True),
        )
        self.supplier_id = config.get("supplier_id")
        self.report_wait = float(config.get("report_wait", 0.0))
        self.report_poll_interval = float(config.get("report_poll_interval", 0.5))
        self.check_structure = bool(config.get("check_structure", True))
        self.check_duplicates = bool(config.get("check_duplicates", True))
        self.structure_cache_seconds = float(config.get("structure_cache_seconds", 3600.0))
        self._structures: dict[str, tuple[StructureRules | None, float]] = {}
        self._structures_lock = threading.Lock()

    # ------------------------------------------------------------------ send

    def send(self, envelope: Envelope) -> Receipt:
        """Deposit the document; a flow rejected by Chorus Pro (IN_REJETE) is a Receipt with accepted=False."""
        problems = check_document(envelope)
        if problems:
            raise ConnectorError("; ".join(problems), transient=False, code="invalid-document")
        self._check_recipient(envelope)
        if self.check_duplicates and envelope.invoice_number:
            existing = self.find_deposited(envelope.invoice_number)
            if existing is not None:
                return existing
        answer = self.client.post(
            contract.DEPOSER_FLUX,
            {
                contract.F_FICHIER_FLUX: base64.b64encode(envelope.document).decode("ascii"),
                contract.F_NOM_FICHIER: flow_filename(envelope.filename, envelope.kind),
                contract.F_SYNTAXE_FLUX: contract.SYNTAXE_FLUX[envelope.kind],
                contract.F_AVEC_SIGNATURE: False,
            },
        )
        numero = str(answer.data.get(contract.F_NUMERO_FLUX_DEPOT) or "")
        if answer.data.get(contract.CODE_RETOUR, 0) != 0 or not numero:
            raise ConnectorError(
                f"Chorus Pro deposer/flux: no flow number in the answer ({answer.data.get(contract.LIBELLE, '')}); "
                "the file may have been received: check Chorus Pro before sending it again",
                transient=False,
                code="protocol",
                raw=answer.raw,
            )
        try:
            report = self._await_report(numero)
        except ConnectorError as exc:  # deposited all the same: failing now would make the outbox deposit it twice
            message = f"deposited; deposit report not read: {exc.message}"
            return Receipt(self.name, numero, accepted=True, raw=answer.raw, message=message, pending=True)
        if report is None:
            return Receipt(self.name, numero, accepted=True, raw=answer.raw, message="deposited; deposit report pending", pending=True)
        return self._verdict(report, answer.raw + b"\n")

    def final_receipt(self, remote_id: str) -> Receipt | None:
        """The deposit report of flow `remote_id` once final (IN_INTEGRE…: accepted; IN_REJETE: refused with its errors), else None."""
        report = self.deposit_report(remote_id)
        return self._verdict(report) if report.final else None

    def _verdict(self, report: DepositReport, before: bytes = b"") -> Receipt:
        message = "; ".join([report.state, *report.errors])
        return Receipt(self.name, report.numero_flux_depot, accepted=not report.rejected, raw=before + report.raw, message=message)

    def _check_recipient(self, envelope: Envelope) -> None:
        rules = StructureRules()
        problems = []
        buyer_siret = normalise_siret(envelope.recipient.siret)
        if self.check_structure and stdnum_siret.is_valid(buyer_siret):
            found = self.structure_rules(buyer_siret)
            if found is None:
                problems.append(f"no Chorus Pro structure with SIRET {buyer_siret}")
            else:
                rules = found
        problems.extend(check_public_buyer(envelope, rules))
        if problems:
            raise ConnectorError("; ".join(problems), transient=False, code="invalid-recipient")

    def _await_report(self, numero: str) -> DepositReport | None:
        """Poll the deposit report until it is final or `report_wait` has passed (None: still pending)."""
        deadline = time.monotonic() + self.report_wait
        while self.report_wait > 0:
            report = self.deposit_report(numero)
            if report.final:
                return report
            if time.monotonic() + self.report_poll_interval > deadline:
                return None
            time.sleep(self.report_poll_interval)
        return None

    def deposit_report(self, numero_flux_depot: str) -> DepositReport:
        """The current state of a flow and its errors (consulterCRDetaille)."""
        answer = self.client.post(contract.CONSULTER_CR_DETAILLE, {contract.F_NUMERO_FLUX_DEPOT: numero_flux_depot})
        errors = [
            f"{item.get(contract.F_NUMERO_DP, '')}: {item.get(contract.F_LIBELLE_ERREUR_DP, '')}".strip(": ")
            for item in answer.data.get(contract.F_LISTE_ERREUR_DP) or []
        ]
        errors += [
            f"{item.get(contract.F_CODE_ERREUR, '')}: {item.get(contract.F_LIBELLE_ERREUR, '')}".strip(": ")
            for item in answer.data.get(contract.F_LISTE_ERREUR_TECHNIQUE) or []
        ]
        return DepositReport(numero_flux_depot, str(answer.data.get(contract.F_ETAT_COURANT_DEPOT_FLUX) or ""), errors, answer.raw)

    def find_deposited(self, invoice_number: str) -> Receipt | None:
        """A Receipt for an invoice of ours already on Chorus Pro under this number (rechercher/fournisseur), else None."""
        for invoice in self._search_invoices({contract.F_NUMERO_FACTURE: invoice_number}):
            if invoice.get(contract.F_NUMERO_FACTURE) == invoice_number:
                status = str(invoice.get(contract.F_STATUT) or "")
                remote_id = str(invoice.get(contract.F_NUMERO_FLUX_DEPOT) or invoice.get(contract.F_IDENTIFIANT_FACTURE_CPP))
                return Receipt(self.name, remote_id, accepted=status != "REJETEE", message=f"already deposited (status {status})")
        return None

    # ------------------------------------------------------------------ structures

    def structure_rules(self, siret: str) -> StructureRules | None:
        """What the public structure with this SIRET requires (cached), or None when Chorus Pro does not know it."""
        with self._structures_lock:
            cached = self._structures.get(siret)
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        rules = self._lookup_structure(siret)
        with self._structures_lock:
            self._structures[siret] = (rules, time.monotonic() + self.structure_cache_seconds)
        return rules

    def _lookup_structure(self, siret: str) -> StructureRules | None:
        criteria = {contract.F_IDENTIFIANT_STRUCTURE: siret, contract.F_TYPE_IDENTIFIANT_STRUCTURE: contract.TYPE_IDENTIFIANT_SIRET}
        found = self.client.post(contract.RECHERCHER_STRUCTURE, {contract.F_STRUCTURE: criteria}).data.get(contract.F_LISTE_STRUCTURES) or []
        if not found:
            return None
        id_structure = found[0][contract.F_ID_STRUCTURE_CPP]
        parametres = self.client.post(contract.CONSULTER_STRUCTURE, {contract.F_ID_STRUCTURE: id_structure}).data.get(contract.F_PARAMETRES) or {}
        page = {contract.F_NB_RESULTATS_PAR_PAGE: 1000, contract.F_PAGE_DEMANDEE: 1}
        body = {contract.F_ID_STRUCTURE: id_structure, contract.F_PAGINATION_SERVICES: page}
        services = self.client.post(contract.RECHERCHER_SERVICES, body).data.get(contract.F_LISTE_SERVICES)
        return StructureRules(
            service_required=bool(parametres.get(contract.P_CODE_SERVICE_OBLIGATOIRE)),
            commitment_required=bool(parametres.get(contract.P_ENGAGEMENT_OBLIGATOIRE)),
            commitment_or_service=bool(parametres.get(contract.P_ENGAGEMENT_OU_SERVICE)),
            active_services=frozenset(s[contract.F_CODE_SERVICE] for s in services or [] if s.get(contract.F_EST_ACTIF, True)),
        )

    # ------------------------------------------------------------------ statuses

    def fetch_statuses(self, since: datetime) -> list[StatusUpdate]:
        """Status changes since `since`: invoices whose current status changed (rechercher/fournisseur), then each
        one's history (consulter/historique), mapped to lifecycle codes; unmapped Chorus Pro statuses are skipped.
        Histories have minute resolution, so an update at the boundary may be reported twice: consumers dedupe
        on (remote_id, code, at)."""
        floor = since.replace(second=0, microsecond=0)
        updates = []
        for invoice in self._search_invoices({contract.F_PERIODE_ETAT_COURANT_DU: contract.format_datetime(since)}):
            remote_id = str(invoice.get(contract.F_NUMERO_FLUX_DEPOT) or invoice.get(contract.F_IDENTIFIANT_FACTURE_CPP))
            number = str(invoice.get(contract.F_NUMERO_FACTURE) or "")
            for status, at, comment in self._history(invoice):
                code = contract.STATUS_TO_LIFECYCLE.get(status)
                if code and at >= floor:
                    detail = f"Chorus Pro {status}" + (f": {comment}" if comment else "")
                    updates.append(StatusUpdate(remote_id, code, at, detail, number))
        return sorted(updates, key=lambda u: (u.at, u.remote_id))

    def _history(self, invoice: Mapping[str, Any]) -> list[tuple[str, datetime, str]]:
        """(Chorus Pro status, when, comment) of one invoice, oldest first; a malformed answer is a protocol error."""
        answer = self.client.post(contract.CONSULTER_HISTORIQUE, {contract.F_ID_FACTURE: invoice.get(contract.F_IDENTIFIANT_FACTURE_CPP)})
        entries = (answer.data.get(contract.F_HISTORIQUES_STATUTS) or {}).get(contract.F_HISTO_STATUT) or []
        try:
            history = [
                (
                    str(entry.get(contract.F_HISTO_STATUT_CODE)),
                    contract.parse_datetime(str(entry.get(contract.F_HISTO_STATUT_DATE))),
                    str(entry.get(contract.F_HISTO_STATUT_COMMENTAIRE) or ""),
                )
                for entry in entries
            ]
            if not history:  # no history returned: the current status stands for it
                history = [(str(invoice.get(contract.F_STATUT)), contract.parse_datetime(str(invoice.get(contract.F_DATE_HEURE_ETAT_COURANT))), "")]
        except ValueError as exc:
            raise ConnectorError(f"Chorus Pro consulter/historique: {exc}", transient=False, code="protocol", raw=answer.raw) from exc
        return history

    def _search_invoices(self, criteria: Mapping[str, Any]) -> list[dict[str, Any]]:
        """All pages of rechercher/fournisseur for these criteria."""
        invoices: list[dict[str, Any]] = []
        page = 1
        while True:
            body = dict(criteria)
            if self.supplier_id is not None:
                body[contract.F_ID_FOURNISSEUR] = self.supplier_id
            body[contract.F_PAGINATION_FOURNISSEUR] = {contract.F_NB_RESULTATS_PAR_PAGE: contract.PAGE_SIZE, contract.F_PAGE_DEMANDEE: page}
            data = self.client.post(contract.RECHERCHER_FOURNISSEUR, body).data
            invoices.extend(data.get(contract.F_LISTE_FACTURES) or [])
            pages = int((data.get(contract.F_PARAMETRES_RETOUR) or {}).get(contract.F_PAGES) or 1)
            if page >= pages:
                return invoices
            page += 1

    # ------------------------------------------------------------------ health

    def health(self) -> dict[str, Any]:
        """Token + the list of flow syntaxes the platform accepts (recuperer/formatflux)."""
        try:
            data = self.client.post(contract.RECUPERER_FORMAT_FLUX, {}).data
        except ConnectorError as exc:
            return {"connector": self.name, "ok": False, "api_url": self.client.api_url, "error": exc.message, "transient": exc.transient}
        formats = sorted(str(f.get(contract.F_FORMAT_FLUX)) for f in data.get(contract.F_LISTE_FORMAT_FLUX) or [])
        missing = sorted(set(contract.SYNTAXE_FLUX.values()) - set(formats))
        return {"connector": self.name, "ok": not missing, "api_url": self.client.api_url, "formats": formats, "missing_formats": missing}


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS = {"facturx": ".pdf", "ubl": ".xml", "cii": ".xml"}


def flow_filename(filename: str, kind: str) -> str:
    """A file name Chorus Pro accepts: ASCII letters, digits, '.', '_', '-', at most 50 characters, right extension."""
    extension = _EXTENSIONS.get(kind, "")
    stem = _UNSAFE_FILENAME.sub("_", filename.rsplit("/", 1)[-1]).strip("._") or "invoice"
    if extension and stem.lower().endswith(extension):
        stem = stem[: -len(extension)]
    return stem[: contract.MAX_FILENAME - len(extension)] + extension
