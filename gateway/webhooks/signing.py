"""The signature header: `X-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.

Signing the timestamp with the body lets a receiver refuse replays older than its window.  Receivers verify with
the snippet published in docs/webhooks.md (the tests run that very snippet against the sender).
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Gateway-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
