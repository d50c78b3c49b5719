"""What every /api/v1 route does alike: it refuses query parameters it does not know, and answers conditional GETs.

- **Query parameters are the documented ones.**  A route accepts exactly the query parameters its operation in the
  OpenAPI document declares (so the document and the behaviour cannot drift apart); any other name, or a parameter
  given twice, is a 400 naming it and listing those the route accepts.  A misspelt filter (`?stauts=200`) would
  otherwise be ignored silently and answer every invoice.
- **Conditional GETs.**  A 200 answer to GET (or HEAD) carries an `ETag`: a document's own (the SHA-256 of its
  bytes), else one computed from the body.  A request whose `If-None-Match` names it (weak comparison, or `*`) is
  answered 304 with no body.  Answers are `Cache-Control: private, no-cache`: a client may keep them, and asks again.

`apply(bp)` installs both on a blueprint, after its authentication (an anonymous caller learns nothing).
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.http import parse_etags, unquote_etag

from gateway.api.errors import ApiError

CACHE_CONTROL = "private, no-cache"
MAX_NAMED = 10  # unknown names quoted in one answer
MAX_NAME_LENGTH = 40


def apply(bp: Blueprint) -> None:
    """Refuse unknown query parameters before the view runs; answer If-None-Match after it."""
    bp.before_request(refuse_unknown_parameters)
    bp.after_request(conditional_get)


def openapi_path(rule: str) -> str:
    """Flask `<converter(args):name>` → OpenAPI `{name}`."""
    return re.sub(r"<(?:[^>]*:)?([^>:]+)>", r"{\1}", rule)


@cache
def accepted_parameters(rule: str, method: str) -> tuple[str, ...]:
    """The query parameters the OpenAPI operation of a route declares, in their documented order."""
    from gateway.api.openapi import openapi_document  # it imports the blueprints' modules

    operation = openapi_document()["paths"].get(openapi_path(rule), {}).get(method.lower(), {})
    return tuple(p["name"] for p in operation.get("parameters", []) if p.get("in") == "query")


def _shown(name: str) -> str:
    """A parameter name as the answer quotes it: bounded, its control characters visible."""
    text = name if len(name) <= MAX_NAME_LENGTH else name[:MAX_NAME_LENGTH] + "…"
    return repr(text) if not text.isprintable() or not text else text


def refuse_unknown_parameters() -> None:
    """`before_request`: a 400 for a query parameter the route does not document, or one given more than once."""
    if request.url_rule is None or request.method == "OPTIONS":
        return
    method = "GET" if request.method == "HEAD" else request.method
    accepted = accepted_parameters(request.url_rule.rule, method)
    where = f"{method} {openapi_path(request.url_rule.rule)}"
    offer = f"{where} accepts {', '.join(accepted)}." if accepted else f"{where} accepts no query parameter."
    unknown = [name for name in request.args if name not in accepted]
    if unknown:
        named = ", ".join(_shown(name) for name in unknown[:MAX_NAMED]) + (" …" if len(unknown) > MAX_NAMED else "")
        raise ApiError(
            400,
            "bad_request",
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''} {named}: {offer}",
            [(f"?{name}", f"unknown query parameter; {offer}") for name in unknown[:MAX_NAMED]],
        )
    repeated = [name for name in request.args if len(request.args.getlist(name)) > 1]
    if repeated:
        raise ApiError(
            400,
            "bad_request",
            f"Query parameter {', '.join(repeated)} is given more than once: give each once (a list filter takes comma-separated values).",
            [(f"?{name}", "given more than once") for name in repeated],
        )


def body_etag(body: bytes) -> str:
    """A strong validator of exact bytes: two bodies share it only if they are the same bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def conditional_get(response: Response) -> Response:
    """`after_request`: an ETag on every 200 to GET/HEAD, and 304 when the client's If-None-Match names it."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    etag = response.headers.get("ETag")
    if etag is None:
        if response.is_streamed:
            return response  # its bytes are not known before they are sent
        etag = body_etag(response.get_data())
        response.headers["ETag"] = etag
    response.headers.setdefault("Cache-Control", CACHE_CONTROL)
    wanted = parse_etags(request.headers.get("If-None-Match"))
    if wanted.star_tag or wanted.contains_weak(unquote_etag(etag)[0] or ""):
        response.status_code = 304  # Werkzeug sends no body and no entity headers with a 304
    return response


# ---------------------------------------------------------------------------- OpenAPI

NOT_MODIFIED = {"description": "Not modified: If-None-Match names the answer's current ETag (no body)."}
ETAG_HEADER = {"description": "The answer's validator, for If-None-Match (a document's: the SHA-256 of its bytes).", "schema": {"type": "string"}}
UNKNOWN_PARAMETER = "A query parameter the operation does not document, or one given twice, is refused too (naming it and those accepted)."


def documented(paths: dict[str, Any], bad_request: dict[str, Any]) -> dict[str, Any]:
    """The /api/v1 operations with what `apply` adds: the 400 for unknown query parameters, and ETag / 304 on GET."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        if not path.startswith("/api/v1/"):
            out[path] = item
            continue
        out[path] = {method: _with_conventions(method, operation, bad_request) for method, operation in item.items()}
    return out


def _with_conventions(method: str, operation: dict[str, Any], bad_request: dict[str, Any]) -> dict[str, Any]:
    responses = dict(operation["responses"])
    given = responses.get("400")
    responses["400"] = (
        {**given, "description": f"{given['description']}. {UNKNOWN_PARAMETER}"} if given else {**bad_request, "description": UNKNOWN_PARAMETER}
    )
    if method == "get":
        ok = responses["200"]
        responses["200"] = {**ok, "headers": {**ok.get("headers", {}), "ETag": ETAG_HEADER}}
        responses["304"] = NOT_MODIFIED
    return {**operation, "responses": dict(sorted(responses.items()))}
