"""HTTP client for the Chorus Pro API behind the PISTE gateway.

Every call carries the PISTE OAuth2 bearer token (client credentials, scope openid) and the `cpro-account`
header of the technical account. The token is cached, refreshed shortly before it expires, and renewed once
when the API answers 401 (a token revoked or expired early on the server side). Failures become
`ConnectorError`s: timeouts, connection errors, 429 and 5xx are transient; refused credentials and 4xx
business errors are permanent.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from connectors.base import ConnectorError
from connectors.chorus_pro import contract


@dataclass(frozen=True)
class Answer:
    """A successful JSON answer and its raw bytes (kept for the record)."""

    data: dict[str, Any]
    raw: bytes


class PisteClient:
    """Thread-safe: one token cache shared by all threads, one HTTP session per thread."""

    def __init__(
        self,
        *,
        token_url: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        login: str,
        password: str,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        token_margin: float = 60.0,
        verify: bool | str = True,
    ) -> None:
        self.token_url = token_url
        self.api_url = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._account = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
        self.timeout = timeout
        self._token_margin = token_margin
        self._verify = verify
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_renew_at = 0.0  # time.monotonic() after which the cached token is renewed
        self._local = threading.local()
        self.tokens_fetched = 0

    # ------------------------------------------------------------------ token

    def token(self) -> str:
        """The cached bearer token, fetched again when it is within the margin of its expiry."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._token_renew_at:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _invalidate(self, token: str) -> None:
        """Forget `token` after a 401, unless another thread has already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch_token(self) -> None:
        form = {
            "grant_type": contract.TOKEN_GRANT_TYPE,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "scope": contract.TOKEN_SCOPE,
        }
        response = self._request("token", self.token_url, data=form)
        if response.status_code != 200:
            detail = _json_or_empty(response.content)
            reason = ": ".join(str(detail[k]) for k in ("error", "error_description") if detail.get(k)) or response.reason
            if response.status_code in (400, 401, 403):
                raise ConnectorError(f"PISTE refused the client credentials: {reason}", transient=False, code="auth", raw=response.content)
            raise _status_error("PISTE token endpoint", response)
        data = _json_or_empty(response.content)
        if not data.get("access_token"):
            raise ConnectorError("PISTE token answer without access_token", transient=True, code="protocol", raw=response.content)
        lifetime = float(data.get("expires_in") or 3600)
        self._token = str(data["access_token"])
        self._token_renew_at = time.monotonic() + lifetime - min(self._token_margin, lifetime / 2)
        self.tokens_fetched += 1

    # ------------------------------------------------------------------ API calls

    def post(self, path: str, body: dict[str, Any]) -> Answer:
        """POST `body` to `path` (a contract constant); renews the token once on 401."""
        payload = json.dumps(body).encode("utf-8")
        for attempt in (1, 2):
            token = self.token()
            headers = {
                "Authorization": f"Bearer {token}",
                contract.ACCOUNT_HEADER: self._account,
                "Content-Type": contract.CONTENT_TYPE,
                "Accept": "application/json",
            }
            response = self._request(path, self.api_url + path, data=payload, headers=headers)
            if response.status_code == 401 and attempt == 1:
                self._invalidate(token)
                continue
            return _answer(path, response)
        raise AssertionError("unreachable")

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.verify = self._verify
            self._local.session = session
        return session

    def _request(self, what: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session().post(url, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            raise ConnectorError(f"Chorus Pro {what}: timed out after {self.timeout} s", transient=True, code="timeout") from exc
        except requests.ConnectionError as exc:
            raise ConnectorError(f"Chorus Pro {what}: cannot connect ({exc.__class__.__name__})", transient=True, code="unavailable") from exc


def _answer(path: str, response: requests.Response) -> Answer:
    """Classify an API response: 200 → Answer; anything else → ConnectorError."""
    data = _json_or_empty(response.content)
    if response.status_code == 200:
        return Answer(data, response.content)
    libelle = data.get(contract.LIBELLE) or response.reason
    if response.status_code in (401, 403):
        message = f"Chorus Pro {path}: access refused ({response.status_code} {libelle})"
        raise ConnectorError(message, transient=False, code="auth", raw=response.content)
    if response.status_code == 429 or response.status_code >= 500:
        raise _status_error(f"Chorus Pro {path}", response)
    code = str(data.get(contract.CODE_RETOUR, response.status_code))
    raise ConnectorError(f"Chorus Pro {path}: rejected (code {code}): {libelle}", transient=False, code="rejected", raw=response.content)


def _status_error(what: str, response: requests.Response) -> ConnectorError:
    transient = response.status_code == 429 or response.status_code >= 500
    return ConnectorError(f"{what}: HTTP {response.status_code} {response.reason}", transient=transient, code="unavailable", raw=response.content)


def _json_or_empty(content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
