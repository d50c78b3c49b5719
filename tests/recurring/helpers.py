"""What the recurring tests share: a template from the French B2B example, and a schedule's body."""

from __future__ import annotations

from typing import Any

from gateway.recurring.billing import template_of
from tests.conftest import load_example


def template() -> dict[str, Any]:
    """The French B2B example without its number, dates and period: one line of a monthly service."""
    example = template_of(load_example("invoice-fr-b2b"))
    line = {"id": "1", "item_name": "Maintenance des fours", "quantity": "1", "unit_code": "MON", "net_price": "300.00",
            "vat_category": "S", "vat_rate": "20"}  # fmt: skip
    example.update(lines=[line], allowances=[], charges=[])
    example.pop("delivery", None)
    return example


def schedule(series: str, rule: str, start: str, **more: Any) -> dict[str, Any]:
    return {"name": f"Maintenance {series} {rule}", "series": series, "rule": rule, "start": start, "template": template(), **more}
