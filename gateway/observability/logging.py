"""Log lines as JSON objects (one per line) or as text, with the bound context (request id, tenant, invoice …).

JSON line: {"time", "level", "logger", "message", then the bound context — "request_id", "tenant",
"invoice_id", "delivery_id" when known — and "exc" with the traceback}.  JSON escapes line breaks, so
a value from outside (an invoice number, a header) can never forge a log line.  `gateway serve` and
`gateway worker` configure it from `[gateway] log_format` ("json" by default, or "text").
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from gateway.config import Config
from gateway.observability import context

FIELDS = ("request_id", "tenant", "invoice_id", "delivery_id")
# Libraries chatty at INFO (font subsetting, factur-x embedding, the server's own notices, the scheduler's every run) speak
# only of problems.
NOISY = ("fontTools", "factur-x", "facturx", "apscheduler")


def _context(record: logging.LogRecord) -> dict[str, str]:
    """The bound context, overridden by the record's own `extra={...}` values for the same fields."""
    values = dict(context.current())
    values.update({name: str(getattr(record, name)) for name in FIELDS if getattr(record, name, None) is not None})
    return values


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, followed by the bound context as `[key=value …]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        values = _context(record)
        return f"{line} [{' '.join(f'{k}={v}' for k, v in values.items())}]" if values else line


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def configure_logging(config: Config, stream: IO[str] | None = None) -> None:
    """One handler on the root logger (stderr by default) in the configured format and level; calling it again replaces it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(FORMATTERS[config.log_format]())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.log_level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(config.log_level)))
