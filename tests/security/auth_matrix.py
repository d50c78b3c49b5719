"""The authorisation matrix: what every route of the app must answer without credentials, with another tenant's,
and with a revoked key or the wrong portal role.  test_auth_matrix.py checks it against the app; docs/reliability.md
shows it, generated from the same data:

    .venv/bin/python -m tests.security.auth_matrix      # prints the markdown table of docs/reliability.md

A route nobody classified makes the test fail: add it to the sets below (public, acting on the caller's own
tenant) or give its portal permission.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from werkzeug.routing import Rule

from gateway.portal.auth import ADMINISTER, OPERATE, PERMISSIONS
from gateway.portal.models import ROLES

PUBLIC = {
    "static": "404: Flask's own static folder, empty (the portal has its own)",
    "meta.healthz": "200",
    "meta.readyz": "200 (503 when not ready)",
    "meta.metrics": "200 on loopback, 403 elsewhere; 401 without the token when metrics_token is set",
    "meta.openapi": "200",
    "meta.problem_types": "200",
    "meta.problem_type": "200 (404 for an unknown type)",
    "portal.sign_in": "200",
    "portal.static": "200",
    "portal.language": "302 (a preference in the session cookie)",
    "portal_home": "302 to /portal/",
}
# API routes without an object in their path: they act on the caller's own tenant only (a create, a check of the body).
OWN_TENANT_POSTS = {"api.create_invoice", "api.validate_only", "signatures.verify", "inbound.receive", "inbound.receive_peppol"}
OWN_TENANT_POSTS |= {"webhooks.create_subscription", "bank_statements.post_statement", "recurring.post_schedule"}
# A tenant's dunning policies are named by `default` or a buyer's SIREN: always the caller's own.
OWN_TENANT_POSTS |= {"dunning.put_policy", "dunning.delete_policy"}
# A tenant's risk thresholds are its own (no id in the path).
OWN_TENANT_POSTS |= {"risk.put_settings"}
# Routes whose JSON body names objects: another tenant's ids there are a 404 like in a path.
OBJECTS_IN_BODY = {"inbound.ack_many"}
# Portal views and the permission they need (None: any signed-in user of the tenant).
PORTAL_PERMISSIONS: dict[str, str | None] = {
    "portal.sign_out": None,
    "portal.dashboard": None,
    "portal.invoices": None,
    "portal.invoices_csv": None,
    "portal.invoice": None,
    "portal.verify": None,
    "portal.document": None,
    "portal.proof": None,
    "portal.set_status": OPERATE,
    "portal.operations": OPERATE,
    "portal.retry_delivery": OPERATE,
    "portal.checkpoint": OPERATE,
    "portal.webhooks": OPERATE,
    "portal.replay_webhook": OPERATE,
    "portal.payments": None,
    "portal.reminder_letter": None,
    "portal.recurring": None,
    "portal.receivables": None,
    "portal.upload_statement": OPERATE,
    "portal.decide": OPERATE,
    "portal.users": ADMINISTER,
    "portal.create_account": ADMINISTER,
    "portal.change_account": ADMINISTER,
}
OBJECT_PARAMETERS = {"invoice_id", "delivery_id", "subscription_id", "reception_id", "user_id", "line_id", "reminder_id", "schedule_id"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Row:
    method: str
    rule: Rule
    kind: str  # public, api, portal
    no_credentials: str
    other_tenant: str
    revoked_or_role: str

    @property
    def endpoint(self) -> str:
        return self.rule.endpoint

    @property
    def has_object(self) -> bool:
        return bool(set(self.rule.arguments) & OBJECT_PARAMETERS) or self.endpoint in OBJECTS_IN_BODY


def lacking(permission: str | None) -> list[str]:
    """The portal roles without `permission`."""
    return [role for role in ROLES if permission is not None and permission not in PERMISSIONS.get(role, frozenset())]


def _row(method: str, rule: Rule) -> Row:
    endpoint = rule.endpoint
    objects = bool(set(rule.arguments) & OBJECT_PARAMETERS) or endpoint in OBJECTS_IN_BODY
    if endpoint in PUBLIC:
        return Row(method, rule, "public", PUBLIC[endpoint], "n/a", "n/a")
    if rule.rule.startswith("/api/"):
        if objects:
            other = "404 (like an unknown id)"
        elif method == "GET":
            other = "200, only the caller's data"
        elif endpoint in OWN_TENANT_POSTS:
            other = "n/a: acts on the caller's tenant"
        else:
            raise KeyError(f"classify the API route {method} {rule.rule} ({endpoint}) in tests/security/auth_matrix.py")
        return Row(method, rule, "api", "401", other, "401")
    if endpoint in PORTAL_PERMISSIONS:
        roles = lacking(PORTAL_PERMISSIONS[endpoint])
        if objects:
            other = "404 (like an unknown id)"
        elif method == "GET":
            other = "200, only the user's tenant"
        else:
            other = "n/a: acts on the user's tenant"
        return Row(method, rule, "portal", "302 to sign-in", other, f"403 for {', '.join(roles)}" if roles else "any role")
    raise KeyError(f"classify the route {method} {rule.rule} ({endpoint}) in tests/security/auth_matrix.py")


def rows(app: Flask) -> list[Row]:
    """One row per route and method of `app`, in path order."""
    found = [_row(method, rule) for rule in app.url_map.iter_rules() for method in sorted(rule.methods - IGNORED_METHODS)]
    return sorted(found, key=lambda row: (row.rule.rule, row.method))


def markdown(table: list[Row]) -> str:
    lines = [
        "| Method | Path | Credentials | None | Another tenant's | Revoked key / wrong role |",
        "|---|---|---|---|---|---|",
    ]
    credential = {"public": "none needed", "api": "API key (Bearer)", "portal": "portal session"}
    for row in table:
        path = re.sub(r"<(?:[^>]*:)?([^>:]+)>", r"{\1}", row.rule.rule)
        lines.append(f"| {row.method} | `{path}` | {credential[row.kind]} | {row.no_credentials} | {row.other_tenant} | {row.revoked_or_role} |")
    return "\n".join(lines) + "\n"


def _app() -> Flask:
    from gateway.app import create_app
    from gateway.config import Config

    folder = Path(tempfile.mkdtemp(prefix="auth-matrix-"))
    return create_app(Config(data_dir=folder, config_dir=folder / "none"))  # routes only: nothing is requested


if __name__ == "__main__":
    print(markdown(rows(_app())), end="")
