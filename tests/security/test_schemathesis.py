"""Schemathesis against the served OpenAPI document, in-process (WSGI) with a tenant's API key, bounded.

Every documented operation is called with generated parameters and bodies (a few examples each): no answer is a
5xx, and every answer has a documented status, a documented content type and a body matching its schema.
Driven from one test per database (schemathesis' pytest plugin does not combine with parametrized fixtures).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance

from tests.api.conftest import new_tenant_key

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 8
BOUNDED = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    database=None,
)


def test_every_documented_operation_conforms_and_never_fails(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {new_tenant_key(app)}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # the whole document, not an empty parse
    statuses: list[int] = []

    for operation in operations:

        @BOUNDED
        @given(case=operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            statuses.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        call()
    assert len(statuses) >= 2 * len(operations) and max(statuses) < 500
    print(f"schemathesis: {len(operations)} operations, {len(statuses)} calls, statuses {sorted(set(statuses))}")
