"""CSV files the app writes for spreadsheets, with formulas neutralised (CSV injection).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or tab / carriage return,
which some strip first) as a formula: a display name `=HYPERLINK("http://evil.example")`
would become a link in a supervisor's report. Such text cells get a leading `'`, which
spreadsheets show as text (OWASP's advice). Only text: numbers, negative ones too, stay numbers.
Fractional numbers are written with at most 3 decimals (seconds to the millisecond, ratios to a
tenth of a percent), not as binary floats print (25.570999999999998).
Every CSV the app serves goes through `csv_text`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The ASCII starts and their full-width forms, which some spreadsheets read the same way.
DECIMALS = 3
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_cell(value: Any) -> Any:
    """A cell as written: None empty, formula-like text quoted with `'`, anything else as is."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, float):
        return round(value, DECIMALS)
    return value


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A CSV file (header line, then one line per row) with every cell made safe."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writerow({column: spreadsheet_cell(column) for column in columns})
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()
