"""Peppol identifiers: participants (ISO 6523 ICD + value), document types and processes.

Facts from REGULATION §5.1-5.2 and §3.4.  Peppol writes a participant as
`iso6523-actorid-upis::<ICD>:<value>`; the ICD (International Code Designator) says which register the
value comes from.  Values are case-insensitive on Peppol (they are lower-cased for the SML hash).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import ean, lei
from stdnum.be import vat as be_vat
from stdnum.fr import siren, siret, tva

PARTICIPANT_SCHEME = "iso6523-actorid-upis"
DOCUMENT_SCHEME = "busdox-docid-qns"
PROCESS_SCHEME = "cenbii-procid-ubl"

# Participant values: at most 50 characters under the Policy for use of Identifiers 4.3, 130 since 4.4.0
# (REGULATION §5.1); 0225 allows 130 in the French directory (§3.4).  We accept the larger limit.
MAX_VALUE_LENGTH = 130

_SUFFIX = re.compile(r"[0-9A-Za-z_.\-]+")  # A7 G1.115 (suffix) and G1.95 (routing code) characters
_DIGITS = re.compile(r"[0-9]+")


def _french_electronic_address(value: str) -> bool:
    """0225: `<SIREN>`, `<SIREN>_<SIRET>`, `<SIREN>_<SIRET>_<routing code>` or `<SIREN>_<suffix>` (REGULATION §3.4)."""
    head, _, rest = value.partition("_")
    if not siren.is_valid(head):
        return False
    if not rest:
        return True
    if not _SUFFIX.fullmatch(rest):
        return False
    first = rest.split("_", 1)[0]
    # A 14-digit first part is a SIRET and must belong to the SIREN (A7 G1.80); otherwise it is a free suffix.
    return not (len(first) == 14 and first.isdigit()) or (siret.is_valid(first) and first.startswith(head))


def _be_enterprise_number(value: str) -> bool:
    return len(value) == 10 and value.isdigit() and be_vat.is_valid(value)


@dataclass(frozen=True)
class Scheme:
    """An ICD the gateway knows how to check; other 4-digit ICDs pass with a syntax check only."""

    icd: str
    name: str
    check: Callable[[str], bool]


SCHEMES: dict[str, Scheme] = {
    s.icd: s
    for s in (
        Scheme("0002", "FR:SIRENE (SIREN)", lambda v: len(v) == 9 and siren.is_valid(v)),
        Scheme("0009", "FR:SIRET", lambda v: len(v) == 14 and siret.is_valid(v)),
        Scheme("0060", "DUNS", lambda v: len(v) == 9 and v.isdigit()),
        Scheme("0088", "GLN", lambda v: len(v) == 13 and ean.is_valid(v)),
        Scheme("0199", "LEI", lei.is_valid),
        Scheme("0208", "BE:EN (Belgian enterprise number)", _be_enterprise_number),
        Scheme("0225", "FR:CTC electronic address", _french_electronic_address),
        Scheme("0242", "SPIS (Peppol service provider, used by MLS)", lambda v: bool(_SUFFIX.fullmatch(v))),
        Scheme("9925", "BE:VAT", lambda v: v.upper().startswith("BE") and be_vat.is_valid(v)),
        Scheme("9957", "FR:VAT", lambda v: v.upper().startswith("FR") and tva.is_valid(v)),
    )
}


class IdentifierError(ValueError):
    """An identifier that is not well formed; the message says which rule failed."""


@dataclass(frozen=True)
class ParticipantId:
    """A Peppol participant: `icd` (ISO 6523 ICD, 4 digits) and `value` as registered."""

    icd: str
    value: str

    @classmethod
    def parse(cls, text: str) -> ParticipantId:
        """Read `iso6523-actorid-upis::0225:315143296` or `0225:315143296`; raise IdentifierError when invalid."""
        text = text.strip()
        scheme, sep, rest = text.partition("::")
        if sep:
            if scheme.lower() != PARTICIPANT_SCHEME:
                raise IdentifierError(f"participant identifier scheme must be {PARTICIPANT_SCHEME!r}, not {scheme!r}")
            text = rest
        icd, sep, value = text.partition(":")
        if not sep:
            raise IdentifierError(f"participant identifier {text!r} must be '<ICD>:<value>'")
        participant = cls(icd, value)
        participant.validate()
        return participant

    def validate(self) -> None:
        """Check the ICD syntax, the value length, and the value's own rules for the schemes in SCHEMES."""
        if not (len(self.icd) == 4 and _DIGITS.fullmatch(self.icd)):
            raise IdentifierError(f"ISO 6523 ICD must be 4 digits, not {self.icd!r}")
        if not self.value or len(self.value) > MAX_VALUE_LENGTH or self.value != self.value.strip():
            raise IdentifierError(f"participant value {self.value!r} must be 1-{MAX_VALUE_LENGTH} characters without surrounding spaces")
        scheme = SCHEMES.get(self.icd)
        if scheme and not scheme.check(self.value):
            raise IdentifierError(f"{self.value!r} is not a valid {scheme.name} value (ICD {self.icd})")

    @property
    def prefixed(self) -> str:
        """`<ICD>:<value>`: what the SBDH carries and what the SML hashes (lower-cased)."""
        return f"{self.icd}:{self.value}"

    @property
    def uri(self) -> str:
        """`iso6523-actorid-upis::<ICD>:<value>`: the form used in SMP URLs."""
        return f"{PARTICIPANT_SCHEME}::{self.prefixed}"

    def __str__(self) -> str:
        return self.prefixed


@dataclass(frozen=True)
class DocumentTypeId:
    """A Peppol document type: `<root namespace>::<root element>##<customization id>::<syntax version>`."""

    value: str

    @classmethod
    def build(cls, root_namespace: str, root_name: str, customization_id: str, version: str) -> DocumentTypeId:
        return cls(f"{root_namespace}::{root_name}##{customization_id}::{version}")

    @property
    def root_namespace(self) -> str:
        return self.value.split("::", 1)[0]

    @property
    def root_name(self) -> str:
        return self.value.split("::", 1)[1].split("##", 1)[0]

    @property
    def version(self) -> str:
        return self.value.rsplit("::", 1)[1]

    @property
    def uri(self) -> str:
        return f"{DOCUMENT_SCHEME}::{self.value}"

    def __str__(self) -> str:
        return self.value


UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

# Peppol BIS Billing 3.0 (REGULATION §5.1, [P]).
BIS3_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
BIS3_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
BIS3_INVOICE = DocumentTypeId.build(UBL_INVOICE_NS, "Invoice", BIS3_CUSTOMIZATION, "2.1")
BIS3_CREDIT_NOTE = DocumentTypeId.build(UBL_CREDIT_NOTE_NS, "CreditNote", BIS3_CUSTOMIZATION, "2.1")

# France on Peppol (REGULATION §5.2, [S]: several independent implementations, the France PASR itself was not read).
FR_PROCESS_REGULATED = "urn:peppol:france:billing:regulated"
FR_PROCESS_NON_REGULATED = "urn:peppol:france:billing:non-regulated"
FR_CIUS_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:peppol:france:billing:cius:1.0"
FR_EXTENDED_CUSTOMIZATION = "urn:cen.eu:en16931:2017#conformant#urn:peppol:france:billing:extended:1.0"
FR_UBL_INVOICE_CIUS = DocumentTypeId.build(UBL_INVOICE_NS, "Invoice", FR_CIUS_CUSTOMIZATION, "2.1")
FR_UBL_INVOICE_EXTENDED = DocumentTypeId.build(UBL_INVOICE_NS, "Invoice", FR_EXTENDED_CUSTOMIZATION, "2.1")
# UNVERIFIED: REGULATION §5.2 lists only the UBL *Invoice* France doctypes; the CreditNote twins below follow the
# BIS 3.0 pattern (same customization, CreditNote-2 root) and must be checked against the France PASR.
FR_UBL_CREDIT_NOTE_CIUS = DocumentTypeId.build(UBL_CREDIT_NOTE_NS, "CreditNote", FR_CIUS_CUSTOMIZATION, "2.1")
FR_UBL_CREDIT_NOTE_EXTENDED = DocumentTypeId.build(UBL_CREDIT_NOTE_NS, "CreditNote", FR_EXTENDED_CUSTOMIZATION, "2.1")
FR_CII_CIUS = DocumentTypeId.build(CII_NS, "CrossIndustryInvoice", FR_CIUS_CUSTOMIZATION, "D22B")
FR_CII_EXTENDED = DocumentTypeId.build(CII_NS, "CrossIndustryInvoice", FR_EXTENDED_CUSTOMIZATION, "D22B")
FR_FACTURX = DocumentTypeId("urn:peppol:doctype:pdf+xml##urn:cen.eu:en16931:2017#conformant#urn:peppol:france:billing:Factur-X:1.0::D22B")
FR_CDAR = DocumentTypeId(
    "urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100::CrossDomainAcknowledgementAndResponse"
    "##urn:peppol:france:billing:cdv:1.0::D22B"
)

# Message Level Status (REGULATION §5.6, [S]).
MLS_PROCESS = "urn:peppol:edec:mls"
MLS_DOCUMENT = DocumentTypeId("urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##urn:peppol:edec:mls:1.0::2.1")

# The CII syntax version of Peppol document types: D22B in every France doctype of REGULATION §5.2.
# UNVERIFIED for non-French CII customizations (other CIUS may use D16B).
CII_VERSION = "D22B"
UBL_VERSION = "2.1"


def is_french_customization(customization_id: str) -> bool:
    """True for the Peppol France CIUS / EXTENDED-CTC-FR customizations, whose process is the French one."""
    return "urn:peppol:france:billing" in customization_id
