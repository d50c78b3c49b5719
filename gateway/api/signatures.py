"""/api/v1/signatures: verify the signatures of a received document.

The body is the document itself (signed UBL / CII XML or PDF).  The answer says, per signature,
who signed, when, the certificate's chain status against the configured trust roots
([signing] trust_roots) and whether the signed content is intact.  A document whose signature
does not verify is a 200 with `"intact": false` (the check itself succeeded); a body that is
neither XML nor PDF is a 415.  `OPENAPI_PATHS` documents the route for openapi.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from gateway.api import conventions
from gateway.api.auth import authenticate
from gateway.api.context import config
from gateway.api.errors import json_response
from gateway.api.problems import PROBLEM_CONTENT

bp = Blueprint("signatures", __name__, url_prefix="/api/v1/signatures")
bp.before_request(authenticate)
conventions.apply(bp)  # documented query parameters only; ETag and 304


@bp.post("/verify")
def verify() -> Response:
    from gateway.signing.settings import signing_settings
    from gateway.signing.verify import verify_document

    return json_response(verify_document(request.get_data(cache=False), signing_settings(config()).roots()).to_dict())


_STRING, _TIME = {"type": ["string", "null"]}, {"type": ["string", "null"], "format": "date-time"}
SIGNATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "format",
        "intact",
        "chain",
        "chain_message",
        "signer",
        "issuer",
        "serial_number",
        "certificate_not_after",
        "signing_time",
        "timestamp",
        "problems",
    ],
    "properties": {
        "format": {"enum": ["xades", "xmldsig", "pades"]},
        "intact": {"type": "boolean", "description": "The signature verifies and covers the whole document, unchanged since signing."},
        "chain": {
            "enum": ["trusted", "self-signed", "unknown", "invalid"],
            "description": "trusted: chains to a configured root; self-signed; unknown: no path to a configured root; invalid: expired, bad usage …",
        },
        "chain_message": {"type": "string"},
        "signer": {**_STRING, "description": "Subject of the signing certificate (RFC 4514)."},
        "issuer": _STRING,
        "serial_number": {**_STRING, "description": "Hexadecimal."},
        "certificate_not_after": _TIME,
        "signing_time": {**_TIME, "description": "Claimed by the signer (XAdES SigningTime, CMS signingTime)."},
        "timestamp": {**_TIME, "description": "Time of a verified RFC 3161 signature time-stamp (PAdES B-T)."},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}
VERIFICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["signed", "intact", "container", "signatures"],
    "properties": {
        "signed": {"type": "boolean"},
        "intact": {"type": "boolean", "description": "Signed, and every signature intact."},
        "container": {"enum": ["xml", "pdf"]},
        "signatures": {"type": "array", "items": SIGNATURE_SCHEMA},
    },
}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/signatures/verify": {
        "post": {
            "operationId": "verifySignatures",
            "summary": "Verify the signatures of a document",
            "description": "XAdES / XMLDSig signatures of UBL or CII XML, PAdES signatures of a (Factur-X) PDF: signer, signing time, chain "
            "status against the configured trust roots, and whether the signed content is intact.  Revocation is not checked.",
            "requestBody": {
                "required": True,
                "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("application/xml", "text/xml", "application/pdf")},
            },
            "responses": {
                "200": {"description": "The verification result", "content": {"application/json": {"schema": VERIFICATION_SCHEMA}}},
                "400": {"description": "Malformed or unsafe XML, unreadable PDF", "content": PROBLEM_CONTENT},
                "401": {"description": "Missing, unknown or revoked API key", "content": PROBLEM_CONTENT},
                "413": {"description": "Document too large", "content": PROBLEM_CONTENT},
                "415": {"description": "Neither XML nor PDF", "content": PROBLEM_CONTENT},
            },
        }
    }
}
