"""SMP client (Peppol SMP 1.x, REGULATION §5.3): which document types a participant accepts, and where to send them.

`GET {smp}/{urlencoded "iso6523-actorid-upis::<id>"}` is the ServiceGroup (the list of accepted document
types); `…/services/{urlencoded "busdox-docid-qns::<doctype>"}` is the SignedServiceMetadata (per process: the
endpoints, their transport profile and access point certificate), enveloped-signed by the SMP.  The signature
is checked with signxml against the configured trust anchors (the CA that issues SMP certificates) before
anything is read, and only the signed content is read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

import requests
from cryptography import x509
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import SignXMLException

from connectors.base import ConnectorError
from connectors.peppol.identifiers import DOCUMENT_SCHEME, DocumentTypeId, ParticipantId
from connectors.peppol.pki import Stage, check_issued_by, check_stage
from gateway.errors import InputError
from gateway.formats.xmlparse import parse_untrusted

SMP_NS = "http://busdox.org/serviceMetadata/publishing/1.0/"
ID_NS = "http://busdox.org/transport/identifiers/1.0/"
WSA_NS = "http://www.w3.org/2005/08/addressing"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"smp": SMP_NS, "id": ID_NS, "wsa": WSA_NS, "ds": DS_NS}

TRANSPORT_AS4 = "peppol-transport-as4-v2_0"
MAX_SMP_RESPONSE = 2 * 1024 * 1024


@dataclass(frozen=True)
class Endpoint:
    """One `smp:Endpoint` of a process."""

    transport_profile: str
    url: str
    certificate: x509.Certificate | None
    activation: datetime | None
    expiration: datetime | None
    technical_contact: str = ""

    def active(self, at: datetime) -> bool:
        return (self.activation is None or self.activation <= at) and (self.expiration is None or at <= self.expiration)


@dataclass(frozen=True)
class ServiceMetadata:
    """The verified SignedServiceMetadata of one participant and document type."""

    participant: str
    document_type: str
    processes: dict[str, tuple[Endpoint, ...]]
    signer: x509.Certificate
    raw: bytes

    def endpoint(self, process_id: str, transport_profile: str, at: datetime | None = None) -> Endpoint:
        """The active endpoint for `process_id` over `transport_profile`; ConnectorError naming what is offered otherwise."""
        now = at or datetime.now(UTC)
        if process_id not in self.processes:
            raise ConnectorError(
                f"Peppol participant {self.participant} accepts {self.document_type} only for processes {sorted(self.processes)}, not {process_id!r}",
                transient=False,
                code="unsupported-process",
            )
        endpoints = [e for e in self.processes[process_id] if e.transport_profile == transport_profile]
        if not endpoints:
            offered = sorted({e.transport_profile for e in self.processes[process_id]})
            raise ConnectorError(
                f"Peppol participant {self.participant} has no {transport_profile} endpoint for {process_id} (offers {offered})",
                transient=False,
                code="unsupported-transport",
            )
        for endpoint in endpoints:
            if endpoint.active(now):
                return endpoint
        raise ConnectorError(
            f"the {transport_profile} endpoint of Peppol participant {self.participant} is not active now "
            f"(activation {endpoints[0].activation}, expiration {endpoints[0].expiration})",
            transient=False,
            code="endpoint-inactive",
        )


class SmpClient:
    """Reads an SMP over HTTP; `trust_anchors` are the CA certificates allowed to issue SMP signing certificates."""

    def __init__(self, trust_anchors: list[x509.Certificate], stage: Stage, session: requests.Session | None = None, timeout: float = 10.0):
        self.trust_anchors = trust_anchors
        self.stage = stage
        self.session = session or requests.Session()
        self.timeout = timeout

    def document_types(self, smp_url: str, participant: ParticipantId) -> list[str]:
        """The document type ids the participant's ServiceGroup lists."""
        body = self._get(f"{smp_url}/{quote(participant.uri, safe='')}", f"ServiceGroup of {participant}")
        root = _parse(body, "ServiceGroup")
        if root.tag != f"{{{SMP_NS}}}ServiceGroup":
            raise ConnectorError(f"the SMP answered {root.tag} instead of a ServiceGroup for {participant}", transient=False, code="smp")
        hrefs = root.xpath("smp:ServiceMetadataReferenceCollection/smp:ServiceMetadataReference/@href", namespaces=NS)
        return [doctype for doctype in (_document_type_of(str(h)) for h in hrefs) if doctype]

    def service_metadata(self, smp_url: str, participant: ParticipantId, document_type: DocumentTypeId) -> ServiceMetadata:
        """The signature-checked metadata for `document_type`; refuses tampered, untrusted or mismatching answers."""
        url = f"{smp_url}/{quote(participant.uri, safe='')}/services/{quote(document_type.uri, safe='')}"
        body = self._get(url, f"service metadata of {participant} for {document_type}")
        root = _parse(body, "SignedServiceMetadata")
        if root.find("smp:ServiceMetadata/smp:Redirect", NS) is not None:
            raise ConnectorError(f"the SMP of {participant} answers with a Redirect, which is not supported yet", transient=False, code="smp")
        if root.tag != f"{{{SMP_NS}}}SignedServiceMetadata":
            raise ConnectorError(f"the SMP answered {root.tag} instead of a SignedServiceMetadata", transient=False, code="smp")
        signer = self._check_signer(root)
        try:
            signed = XMLVerifier().verify(root, x509_cert=signer).signed_xml
        except SignXMLException as exc:
            raise ConnectorError(
                f"the SignedServiceMetadata of {participant} fails its signature check ({exc}); refusing it", transient=False, code="smp-signature"
            ) from None
        if signed is None or signed.tag != f"{{{SMP_NS}}}SignedServiceMetadata":
            raise ConnectorError("the SMP signature does not cover the SignedServiceMetadata", transient=False, code="smp-signature")
        metadata = _read_service_information(signed, signer, body)
        if metadata.participant.lower() != participant.prefixed.lower() or metadata.document_type != document_type.value:
            raise ConnectorError(
                f"the SMP returned signed metadata for {metadata.participant} / {metadata.document_type}, "
                f"not for the requested {participant} / {document_type}",
                transient=False,
                code="smp",
            )
        return metadata

    def _check_signer(self, root: etree._Element) -> x509.Certificate:
        text = root.findtext("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
        if not text:
            raise ConnectorError("the SignedServiceMetadata has no signing certificate (ds:X509Certificate)", transient=False, code="smp-signature")
        try:
            signer = x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
        except ValueError as exc:
            raise ConnectorError(f"unreadable SMP signing certificate: {exc}", transient=False, code="smp-signature") from None
        check_stage(signer, self.stage, "SMP signing")
        check_issued_by(signer, self.trust_anchors, "SMP signing")
        return signer

    def _get(self, url: str, what: str) -> bytes:
        try:
            response = self.session.get(url, timeout=self.timeout, headers={"Accept": "application/xml"})
        except requests.RequestException as exc:
            raise ConnectorError(f"SMP unreachable while reading the {what}: {exc}", transient=True, code="smp-unreachable") from None
        if response.status_code == 404:
            raise ConnectorError(f"the SMP has no {what} (HTTP 404 at {url})", transient=False, code="not-registered", raw=response.content)
        if response.status_code >= 500:
            raise ConnectorError(
                f"the SMP failed while serving the {what} (HTTP {response.status_code})", transient=True, code="smp", raw=response.content
            )
        if response.status_code != 200:
            raise ConnectorError(f"the SMP refused the {what} (HTTP {response.status_code})", transient=False, code="smp", raw=response.content)
        return response.content


def _parse(body: bytes, what: str) -> etree._Element:
    try:
        return parse_untrusted(body, max_bytes=MAX_SMP_RESPONSE).getroot()
    except InputError as exc:
        raise ConnectorError(f"unreadable SMP {what}: {exc.message}", transient=False, code="smp", raw=body[:4096]) from None


def _document_type_of(href: str) -> str | None:
    """The document type id at the end of a ServiceMetadataReference href (`…/services/busdox-docid-qns::<id>`)."""
    decoded = unquote(href)
    _, sep, tail = decoded.partition("/services/")
    if not sep:
        return None
    scheme, sep, value = tail.partition("::")
    return value if sep and scheme.lower() == DOCUMENT_SCHEME else None


def _read_service_information(signed: etree._Element, signer: x509.Certificate, raw: bytes) -> ServiceMetadata:
    info = signed.find("smp:ServiceMetadata/smp:ServiceInformation", NS)
    if info is None:
        raise ConnectorError("the signed SMP metadata has no ServiceInformation", transient=False, code="smp")
    processes: dict[str, tuple[Endpoint, ...]] = {}
    for process in info.iterfind("smp:ProcessList/smp:Process", NS):
        process_id = (process.findtext("id:ProcessIdentifier", namespaces=NS) or "").strip()
        processes[process_id] = tuple(_endpoint(e) for e in process.iterfind("smp:ServiceEndpointList/smp:Endpoint", NS))
    return ServiceMetadata(
        participant=(info.findtext("id:ParticipantIdentifier", namespaces=NS) or "").strip(),
        document_type=(info.findtext("id:DocumentIdentifier", namespaces=NS) or "").strip(),
        processes=processes,
        signer=signer,
        raw=raw,
    )


def _endpoint(element: etree._Element) -> Endpoint:
    certificate_text = element.findtext("smp:Certificate", namespaces=NS)
    certificate = None
    if certificate_text and certificate_text.strip():
        try:
            certificate = x509.load_der_x509_certificate(base64.b64decode("".join(certificate_text.split())))
        except ValueError as exc:
            raise ConnectorError(f"unreadable access point certificate in the SMP metadata: {exc}", transient=False, code="smp") from None
    return Endpoint(
        transport_profile=element.get("transportProfile", ""),
        url=(element.findtext("wsa:EndpointReference/wsa:Address", namespaces=NS) or "").strip(),
        certificate=certificate,
        activation=_datetime(element.findtext("smp:ServiceActivationDate", namespaces=NS)),
        expiration=_datetime(element.findtext("smp:ServiceExpirationDate", namespaces=NS)),
        technical_contact=(element.findtext("smp:TechnicalContactUrl", namespaces=NS) or "").strip(),
    )


def _datetime(text: str | None) -> datetime | None:
    """An xs:dateTime; a value without offset is read as UTC."""
    if not text or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConnectorError(f"unreadable date {text!r} in the SMP metadata", transient=False, code="smp") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
