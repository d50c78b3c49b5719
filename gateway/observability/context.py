"""What the current log lines are about (request id, tenant, invoice …), carried by a context variable.

A web request binds its request id, and its tenant once authenticated; a delivery or webhook job binds
the invoice, the tenant and the id of the request that submitted the invoice.  The log formatter adds
whatever is bound to every line, so searching one request id finds the request and the jobs it caused.
Context variables are per thread (waitress threads, worker threads) and per asyncio task: nothing leaks
from one request to the next once `bound` (or `reset`) ends the binding.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType

Values = Mapping[str, str]

_EMPTY: Values = MappingProxyType({})
_CONTEXT: ContextVar[Values] = ContextVar("gateway_log_context", default=_EMPTY)

# An incoming X-Request-Id is kept only when it is short and made of safe characters: it reaches logs and headers.
REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """`value` when it is a usable request id, else a fresh one (never an error: a bad id must not fail the request)."""
    return value if value is not None and REQUEST_ID.match(value) else new_request_id()


def current() -> Values:
    return _CONTEXT.get()


def request_id() -> str | None:
    return _CONTEXT.get().get("request_id")


def bind(**values: object) -> Token[Values]:
    """Add `values` (None ones skipped) to the context; `reset(token)` restores what was there before."""
    merged = {**_CONTEXT.get(), **{k: str(v) for k, v in values.items() if v is not None}}
    return _CONTEXT.set(MappingProxyType(merged))


def reset(token: Token[Values]) -> None:
    _CONTEXT.reset(token)


@contextmanager
def bound(**values: object) -> Iterator[None]:
    """`values` in the context for the duration of the block."""
    token = bind(**values)
    try:
        yield
    finally:
        reset(token)
