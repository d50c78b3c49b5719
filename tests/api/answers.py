"""Reading an error answer whatever its shape: RFC 9457 problem details, or the former `{"error": {...}}`."""

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
    body = response.get_json(force=True)
    if "error" in body:
        error = body["error"]
        return Problem(error["code"], error["message"], [(d["pointer"], d["message"]) for d in error["details"]])
    return Problem(body["code"], body["detail"], [(e["pointer"], e["detail"]) for e in body["errors"]])
