"""Rows as an aligned plain-text table, for the command line (the first row is the header)."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(rows: Sequence[Sequence[object]], numeric_from: int | None = None) -> str:
    """Columns padded to their widest cell; from column `numeric_from` on, right-aligned (amounts)."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]

    def cell(i: int, value: object) -> str:
        return str(value).rjust(widths[i]) if numeric_from is not None and i >= numeric_from else str(value).ljust(widths[i])

    return "\n".join("  ".join(cell(i, value) for i, value in enumerate(row)).rstrip() for row in rows)
