"""Why a delivery is a dead letter, and what a person can do about it: the `reason` the API and the portal show.

A dead letter keeps the network's or the connector's own words (`last_error`); the reason adds what to do, chosen
by what its last attempt says: refused by the network after hand-over, a connector not configured or its settings
unusable, credentials, certificates, the recipient's identifiers, a document the channel cannot carry, a network out
of reach, or the gateway's own error.  Every dead letter can then be sent again (portal "Retry",
`POST /api/v1/deliveries/{id}/retry`, `gateway deliveries retry ID`).  Unroutable deliveries carry their reason in the
routing decision (`gateway.routing.router`).  Texts are marked for the portal's `core` catalogue.
"""

from __future__ import annotations

from gateway.texts import N_

RETRY = N_("then retry the delivery")
_ADVICE = {
    "not-configured": N_("configure the {channel} connector ([delivery.connectors.{channel}] in config/routing.toml), or change the rule or "
                         "directory entry that chose {channel}, {retry}"),
    "config": N_("correct the {channel} connector's settings in config/routing.toml and restart the gateway, {retry}"),
    "auth": N_("check the {channel} credentials (the environment variables its *_env settings name), {retry}"),
    "certificate": N_("check the certificates of the {channel} connector (stage, validity, trust anchors), {retry}"),
    "recipient": N_("check the buyer's identifiers in the invoice and in its directory entry, or route the buyer to another channel "
                    "(gateway directory import), {retry}"),
    "document": N_("correct the invoice and submit it again: this document cannot travel on {channel} as it is"),
    "refused": N_("correct the invoice and submit it again: {channel} refused it after receiving it (its receipt gives the reasons)"),
    "unreachable": N_("check that {channel} is up and that the connector's address is right, {retry}"),
    "internal": N_("look for the delivery's id in the gateway's log and report the error, {retry}"),
    "interrupted": N_("the workers kept stopping during this delivery: look at their logs (memory, time limits), {retry}"),
    "unknown": N_("read its attempts for details and fix the cause, {retry}"),
}  # fmt: skip
_KIND_OF_CODE = {
    "not-configured": "not-configured",
    "config": "config",
    "auth": "auth",
    **dict.fromkeys(("certificate", "certificate-stage", "tls"), "certificate"),
    **dict.fromkeys(
        ("invalid-recipient", "not-registered", "smp", "sml", "dns", "endpoint-inactive", "unsupported-process", "unsupported-transport"),
        "recipient",
    ),
    "rejected": "recipient",  # refused before hand-over (an SMTP 5xx for the recipient's address …)
    **dict.fromkeys(
        ("peppol-validation", "invalid-document", "no-document", "invalid-sbd", "unsupported-document", "unsupported-document-type"), "document"
    ),
    **dict.fromkeys(("timeout", "unreachable", "unavailable", "server", "bad-response", "protocol", "delivery"), "unreachable"),
    "internal": "internal",
}
REASON = N_("{problem} — what to do: {advice}")


def _kind(outcome: str | None, error_code: str | None) -> str:
    if outcome in ("rejected", "sent"):  # refused after hand-over (a deposit report read later leaves the attempt "sent")
        return "refused"
    if outcome == "gave-up":
        return "interrupted"
    return _KIND_OF_CODE.get(error_code or "", "unknown")


def dead_letter(channel: str | None, last_error: str | None, outcome: str | None, error_code: str | None) -> str:
    """The reason of a dead delivery on `channel`, from its last error and its last attempt's outcome and error code."""
    name = channel or N_("the channel")
    advice = _ADVICE[_kind(outcome, error_code)].format(channel=name, retry=RETRY)
    return REASON.format(problem=last_error or N_("the delivery failed"), advice=advice)
