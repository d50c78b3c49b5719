"""The buyer's status form of an incoming invoice: what the operator entered, field by field errors, and the change to record.

The reform's rules are the lifecycle's (`codes`, `machine`, enforced again by `service.record`); the form
reads them to say *which field* is wrong, in the reader's language, before anything is recorded.  What the
machine still refuses at recording time (a race with another change, say) comes back as a form-wide error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from gateway.errors import InputError
from gateway.intake import xml_safe
from gateway.lifecycle import codes, parties, service
from gateway.lifecycle.events import Amount, StatusChange
from gateway.portal import i18n
from gateway.portal.i18n import core_text
from gateway.portal.i18n import gettext as _
from gateway.portal.queries import parse_date, parse_decimal
from gateway.store import models as db

MAX_COMMENT = 5000  # as the API's (MDT-126)


@dataclass
class BuyerForm:
    """The values entered (to show them again), errors by field name ("" for the whole form), and the change when all is well."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    change: StatusChange | None = None

    def refused(self, exc: InputError) -> None:
        """Record why `service.record` refused the change, as a form-wide error."""
        if isinstance(exc, service.IllegalTransition):
            self.errors[""] = _("This status cannot follow the invoice's current status any more: nothing was recorded. Reload the page.")
        elif isinstance(exc, service.NotInLifecycle):
            self.errors[""] = _("This invoice was rejected when it arrived: it has no lifecycle, and no status can be set.")
        elif isinstance(exc, parties.NotYourStatus):
            self.errors["code"] = _("This status is set by the seller, not by the buyer.")
        else:
            self.errors[""] = _("The reform's rules refuse this status: {reason}", reason=core_text(exc.message))
        self.change = None


def _name(status: codes.Status, lang: str) -> str:
    return f"{status.code} {status.label if lang == 'fr' else status.label_en}"


def read_buyer_form(form: Mapping[str, str], row: db.Invoice, settable: list[codes.Status], lang: str) -> BuyerForm:
    """The form's values checked against the status chosen (one of `settable`); `change` is set only when there is no error."""
    values = {name: (form.get(name) or "").strip() for name in ("code", "reason_code", "comment", "amount", "paid_on")}
    result, errors = BuyerForm(values), {}
    status = next((s for s in settable if s.code == values["code"]), None)
    if status is None:
        result.errors["code"] = _("Choose one of the statuses offered.")
        return result
    reason, comment = values["reason_code"] or None, values["comment"] or None
    if reason is None and status.needs_reason:
        errors["reason_code"] = _("{status} needs a reason.", status=_name(status, lang))
    elif reason is not None and reason not in (status.reasons or codes.REASONS):
        errors["reason_code"] = _("This reason is not one the reform allows for {status}.", status=_name(status, lang))
    if comment is None and status.needs_comment:
        errors["comment"] = _("{status} needs a comment saying why.", status=_name(status, lang))
    elif comment is not None and (len(comment) > MAX_COMMENT or not xml_safe(comment)):
        errors["comment"] = _("The comment is too long or contains characters that cannot be sent.")
    amounts: tuple[Amount, ...] = ()
    if status.code == "211" and values["amount"]:
        amount, paid_on = parse_decimal(values["amount"]), parse_date(values["paid_on"]) if values["paid_on"] else None
        if amount is None or amount <= 0 or -amount.as_tuple().exponent > codes.AMOUNT_MAX_DECIMALS:  # type: ignore[operator]
            errors["amount"] = _("Enter the amount paid, for example {example}.", example=i18n.format_decimal(Decimal("1234.56"), lang))
        if values["paid_on"] and (paid_on is None or paid_on > date.today()):
            errors["paid_on"] = _("Enter the date of the payment (not in the future).")
        if amount is not None and "amount" not in errors:
            amounts = (Amount(parties.DEFAULT_AMOUNT_TYPE["211"], amount, row.currency, value_date=paid_on),)
    result.errors = errors
    if not errors:
        result.change = StatusChange(
            status.code, datetime.now(UTC), parties.role_on(row.direction), reason_code=reason, comment=comment, amounts=amounts
        )
    return result
