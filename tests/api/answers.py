"""Reading an error answer: RFC 9457 problem details (application/problem+json), its field errors as (pointer, message)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    errors: list[tuple[str, str]]  # (pointer, message)

    def at(self, pointer: str) -> list[str]:
        """The messages about one pointer."""
        return [message for where, message in self.errors if where == pointer]


def problem(response) -> Problem:
    assert response.mimetype == "application/problem+json", (response.status_code, response.mimetype)
    body = response.get_json()
    return Problem(body["code"], body["detail"], [(e["pointer"], e["detail"]) for e in body["errors"]])
