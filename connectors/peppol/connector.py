"""The Peppol connector: find the receiver (SML → SMP), check it accepts the document, wrap it in an SBD, deliver.

Two delivery modes, by configuration (`peppol.mode`):

- `submission_api`: hand the SBD to the tenant's access point through its HTTP submission API.  The contract
  followed is phase4's `POST /api/sendsbdh` (body = the SBD XML; answer = its JSON sending report with
  `sendingSuccess`, `sendingResult`, `sbdhInstanceIdentifier`, `as4MessageId`, `as4ReceivedSignalMsg`,
  `as4ResponseErrors` …), authenticated by a bearer token (or phase4's `X-Token` header, by configuration).
- `as4`: the gateway is the sending access point (C2) and speaks the Peppol AS4 profile itself
  (`connectors.peppol.as4`) to the receiving access point the SMP names, with the access point certificate and key
  it is configured with.  Sending on the real network still requires an accredited Peppol service provider's
  certificate (OpenPeppol membership, testbed; REGULATION §5.7): the code does not replace the accreditation.

Before anything is sent, every certificate met (SMP signer, receiving access point, our own access point) is checked
against the configured Peppol stage, so a test/production mix-up fails with a message naming both (DESIGN pitfall 9).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from cryptography import x509

from connectors.base import ConnectorError, Envelope, Receipt, StatusUpdate
from connectors.peppol import as4, sbdh
from connectors.peppol.document import DocumentFacts, describe
from connectors.peppol.identifiers import BIS3_PROCESS, FR_PROCESS_REGULATED, DocumentTypeId, IdentifierError, ParticipantId, is_french_customization
from connectors.peppol.pki import STAGES, Stage, check_issued_by, check_stage, common_name, load_certificates, stage_of_ca
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
    access_point: as4.Credential | None = None  # as4 mode: our access point's certificate (CN = seat id) and key
    access_point_anchors: tuple[x509.Certificate, ...] = ()  # as4 mode: CAs that issue receiving access points' certificates
    tls_verify: bool | str = True  # as4 mode: requests' `verify` for the receiver's HTTPS (True = system store, or a CA bundle path)

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
        access_point, access_point_anchors = _access_point(config, stage) if mode == "as4" else (None, ())
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
            access_point=access_point,
            access_point_anchors=access_point_anchors,
            tls_verify=config.get("tls_ca_bundle") or True,
        )


def _access_point(config: Mapping[str, Any], stage: Stage) -> tuple[as4.Credential, tuple[x509.Certificate, ...]]:
    """The as4 mode's credential and the receiving access points' CAs, checked against the stage."""
    if not config.get("ap_certificate") or not config.get("ap_private_key"):
        raise ValueError("peppol.ap_certificate and peppol.ap_private_key are required in as4 mode (the access point's PEM certificate and key)")
    try:
        credential = as4.Credential.load(config["ap_certificate"], config["ap_private_key"], config.get("ap_private_key_password", ""))
    except (OSError, ValueError) as exc:
        raise ValueError(f"peppol.ap_certificate / peppol.ap_private_key: {exc}") from None
    own_stage = stage_of_ca(common_name(credential.certificate.issuer))
    if own_stage not in (None, stage):
        raise ValueError(
            f"Peppol stage mismatch: our access point certificate {credential.party_id!r} is issued by a {own_stage} CA "
            f"({common_name(credential.certificate.issuer)!r}) but peppol.stage is {stage!r}"
        )
    anchors = tuple(_certificates(config.get("ap_trust_anchors", "")))
    if not anchors:
        raise ValueError("peppol.ap_trust_anchors must give the CA certificate(s) that issue receiving access points' certificates")
    return credential, anchors


def _certificates(value: str | bytes) -> list[x509.Certificate]:
    """The certificates of PEM text, or of the PEM file a path names."""
    if isinstance(value, str) and value and "-----BEGIN" not in value:
        value = Path(value).read_bytes()
    return load_certificates(value) if value else []


def _trust_anchors(value: str | bytes) -> list[x509.Certificate]:
    """At least one certificate is required (an unsigned SMP answer is never trusted)."""
    anchors = _certificates(value)
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
        if self.config.mode == "as4":
            return self.send_as4(sbd, header, route, as4.message_id_for(f"{envelope.tenant}:{envelope.idempotency_key}"))
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

    def send_as4(self, sbd: bytes, header: sbdh.Header, route: Route, message_id: str) -> Receipt:
        """Speak the Peppol AS4 profile to the receiving access point: a signed, encrypted UserMessage; a verified receipt back."""
        credential, endpoint = self.config.access_point, route.endpoint
        if credential is None:
            raise ConnectorError("as4 mode without an access point credential", transient=False, code="config")
        if endpoint.certificate is None:
            raise ConnectorError(
                f"the SMP registration of {route.receiver} gives no access point certificate to encrypt for", transient=False, code="smp"
            )
        if not endpoint.url.lower().startswith("https://"):
            raise ConnectorError(f"the receiving access point's address {endpoint.url!r} is not HTTPS", transient=False, code="smp")
        check_issued_by(endpoint.certificate, list(self.config.access_point_anchors), "receiving access point")
        check_issued_by(credential.certificate, list(self.config.access_point_anchors), "our access point")
        message = as4.build_user_message(sbd, header, sender=credential, receiver=endpoint.certificate, message_id=message_id, at=datetime.now(UTC))
        try:
            response = self.session.post(
                endpoint.url,
                data=message.body,
                headers={"Content-Type": message.content_type, "MIME-Version": "1.0"},
                timeout=self.config.timeout,
                verify=self.config.tls_verify,
            )
        except requests.Timeout:
            raise ConnectorError(
                f"the receiving access point did not answer within {self.config.timeout:g} s (AS4 message {message_id})",
                transient=True,
                code="timeout",
            ) from None
        except requests.RequestException as exc:
            raise ConnectorError(f"the receiving access point {endpoint.url} is unreachable: {exc}", transient=True, code="unreachable") from None
        try:
            signal = as4.read_signal(response.content, response.headers.get("Content-Type", ""), sent=message, receiver=endpoint.certificate)
        except as4.As4Error as exc:
            # No usable signal: whether the message arrived is unknown; resending the same MessageId is safe (duplicate elimination).
            raise ConnectorError(
                f"no valid AS4 signal from the receiving access point (HTTP {response.status_code}): {exc}",
                transient=True,
                code="bad-response" if response.status_code < 500 else "server",
                raw=response.content,
            ) from None
        return _receipt_from_signal(signal, header, message_id)

    def fetch_statuses(self, since: datetime) -> list[StatusUpdate]:
        """Nothing to poll: MLS responses arrive inbound through the access point; `connectors.peppol.mls.status_update` reads them."""
        return []

    def health(self) -> dict[str, Any]:
        return {
            "connector": self.name,
            "mode": self.config.mode,
            "stage": self.config.stage,
            "sml_zone": self.config.sml_zone,
            "ok": True,
            "detail": f"access point {self.config.access_point.party_id}" if self.config.access_point else "",
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


# ebMS 3.0 errors after which sending the same message again can succeed (delivery and connection failures).
RETRYABLE_EBMS_ERRORS = {"EBMS:0005", "EBMS:0006", "EBMS:0201", "EBMS:0202", "EBMS:0301"}
# Errors about our own security (our signature or certificate not accepted, our encryption not readable): a configuration fault.
SECURITY_EBMS_ERRORS = {"EBMS:0101", "EBMS:0102", "EBMS:0103"}


def _receipt_from_signal(signal: as4.Signal, header: sbdh.Header, message_id: str) -> Receipt:
    """A verified receipt is the hand-over; an error signal is a rejection, our own fault, or a reason to retry."""
    if signal.receipt:
        return Receipt(
            connector="peppol",
            remote_id=header.instance_id,
            accepted=True,
            raw=signal.raw,
            message=f"AS4 message {message_id}: non-repudiation receipt signed by {signal.signer}",
        )
    failures = [error for error in signal.errors if error.severity.lower() != "warning"] or list(signal.errors)
    text = "; ".join(str(error) for error in failures)
    codes_ = {error.code for error in failures}
    if codes_ <= RETRYABLE_EBMS_ERRORS:
        raise ConnectorError(f"the receiving access point could not take the message now: {text}", transient=True, code="delivery", raw=signal.raw)
    if codes_ & SECURITY_EBMS_ERRORS:
        raise ConnectorError(
            f"the receiving access point refused our message's security ({text}); check peppol.ap_certificate / ap_private_key",
            transient=False,
            code="auth",
            raw=signal.raw,
        )
    return Receipt(
        connector="peppol", remote_id=header.instance_id, accepted=False, raw=signal.raw, message=f"rejected by the receiving access point: {text}"
    )


def _exception_text(value: Any) -> str:
    return str(value.get("message", "")) if isinstance(value, dict) else str(value or "")
