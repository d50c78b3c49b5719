"""Errors caused by the caller's input.  The web layer maps each to its 4xx status."""

from __future__ import annotations


class InputError(ValueError):
    """Input the gateway cannot accept; `status` is the HTTP status the API answers."""

    status = 422
    code = "invalid_input"

    def __init__(self, message: str, pointer: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer

    def members(self) -> dict[str, object]:
        """Facts a client acts on besides the message (the existing invoice of a duplicate …): members of the API's answer."""
        return {}


class UnsupportedDocument(InputError):
    """Not a document type the gateway reads (not UBL, CII or a Factur-X PDF)."""

    status = 415
    code = "unsupported_document"


class UnsafeDocument(InputError):
    """A document refused for safety: DTD, entities, excessive nesting."""

    status = 400
    code = "unsafe_document"


class MalformedDocument(InputError):
    """Not well-formed XML, or a PDF that cannot be read."""

    status = 400
    code = "malformed_document"


class DocumentTooLarge(InputError):
    """Over the configured size limit."""

    status = 413
    code = "too_large"
