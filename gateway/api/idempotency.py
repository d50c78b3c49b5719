"""`Idempotency-Key` on POST: a retry of the same request gets the first answer back, and nothing new is created.

The answer (status and exact body, error answers included: a problem is replayed as one) is stored in the same
transaction as what the request created.  The same key with a different request
(method, path, query, content type, X-Gateway-Metadata or body) is a 409.  A 5xx is not stored: the
request can be retried.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps

from flask import Response, request
from sqlalchemy.exc import IntegrityError

from gateway.api.auth import current_tenant
from gateway.api.context import db_session
from gateway.api.errors import ApiError, api_error_response, input_error_response
from gateway.api.problems import MEDIA_TYPE
from gateway.errors import InputError
from gateway.metadata import HEADER as METADATA_HEADER  # part of the request: a retry with other metadata is another request
from gateway.store.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _request_digest() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1"), request.mimetype):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    metadata = request.headers.get(METADATA_HEADER)
    if metadata is not None:  # only when given: the digests of requests without it stay what they were
        digest.update(b"metadata\x00" + metadata.encode("utf-8", "surrogatepass") + b"\x00")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_sha256 != digest:
        raise ApiError(409, "idempotency_key_reused", f"The {HEADER} was already used for a different request.", [("header", HEADER)])
    headers = {"Idempotent-Replayed": "true"}
    if record.response_status == 201:
        headers["Location"] = json.loads(record.response_body)["links"]["self"]
    return Response(record.response_body, status=record.response_status, mimetype=_media_type(record), headers=headers)


def _media_type(record: IdempotencyRecord) -> str:
    """The stored answer's media type: a problem for an error (one stored before problem details keeps its JSON type)."""
    if record.response_status >= 400 and not record.response_body.startswith('{"error":'):
        return MEDIA_TYPE
    return "application/json"


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isprintable() and key.isascii()):
        raise ApiError(400, "bad_request", f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.", [("header", HEADER)])
    return key


def _run(view: Callable[..., Response], *args: object, **kwargs: object) -> Response:
    """The view's answer, input errors included (they are answers to replay too)."""
    try:
        return view(*args, **kwargs)
    except InputError as exc:
        db_session().rollback()
        return input_error_response(exc)
    except ApiError as exc:
        db_session().rollback()
        return api_error_response(exc)


def idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a POST view: commit what it did together with its stored answer, or replay a stored answer."""

    @wraps(view)
    def wrapper(*args: object, **kwargs: object) -> Response:
        session = db_session()
        key = _key()
        if key is None:
            response = _run(view, *args, **kwargs)
            session.commit()
            return response
        tenant_id = current_tenant().id
        digest = _request_digest()
        record = session.get(IdempotencyRecord, (tenant_id, key))
        if record is not None:
            return _replay(record, digest)
        response = _run(view, *args, **kwargs)
        if response.status_code >= 500:
            return response
        session.add(
            IdempotencyRecord(
                tenant_id=tenant_id,
                key=key,
                request_sha256=digest,
                response_status=response.status_code,
                response_body=response.get_data(as_text=True),
            )
        )
        try:
            session.commit()
        except IntegrityError:  # a concurrent request with the same key committed first: answer as it did
            session.rollback()
            record = session.get(IdempotencyRecord, (tenant_id, key))
            if record is None:
                raise
            return _replay(record, digest)
        return response

    return wrapper
