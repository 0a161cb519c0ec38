"""Reading a lead list from CSV: pure, no IO. Columns are mapped to a lead's fields (number,
name, time zone), every other column is kept as a custom field; numbers are normalised to E.164
with phonenumbers in the tenant's region; invalid rows and duplicates are reported by their line
in the file, never imported. Bounded: the text's size and the number of rows are checked before
anything else is read, so a hostile file costs at most the limits' worth of work."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from pbx_stasis.dialing.compliance import known_zone

MAX_CHARS = 2_000_000  # what the API takes (its body is at most 2 MiB)
MAX_ROWS = 20_000
MAX_COLUMNS = 50
MAX_CELL = 1000  # a custom field's value, as crm custom fields
MAX_REPORTED = 200  # problems listed in the report (all are counted)
FIELDS = ("number", "name", "time_zone")
# Column names read as a field when the mapping does not name one (lower case, stripped).
GUESSES = {
    "number": ("number", "phone", "phone number", "telephone", "mobile", "tel"),
    "name": ("name", "full name", "contact", "customer"),
    "time_zone": ("time_zone", "time zone", "timezone", "tz"),
}


class ImportRefused(ValueError):
    """The file as a whole cannot be read (too big, no header, no number column...): field ->
    message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LeadDraft:
    """One lead read from a file: its line, E.164 number and the rest."""

    line: int
    number: str
    name: str | None
    time_zone: str | None
    custom_fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row not imported: its line in the file, the column at fault, why."""

    line: int
    column: str
    message: str
    duplicate_of: int | None = None  # the line that has the same number


@dataclass
class ImportReport:
    """What a file gave: the leads to import, and every row left out with why."""

    leads: list[LeadDraft] = field(default_factory=list)
    invalid: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)
    rows: int = 0

    def summary(self) -> dict[str, Any]:
        """The report as the API and the CLI give it (problems listed up to MAX_REPORTED)."""
        return {
            "rows": self.rows,
            "imported": len(self.leads),
            "invalid": len(self.invalid),
            "duplicates": len(self.duplicates),
            "problems": [
                {"line": p.line, "column": p.column, "message": p.message,
                 **({"duplicate_of": p.duplicate_of} if p.duplicate_of else {})}
                for p in sorted([*self.invalid, *self.duplicates],
                                key=lambda p: p.line)[:MAX_REPORTED]
            ],
        }


def _mapped(header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    """The column index of each field: the mapping's column name, else a usual name."""
    lowered = {name.strip().lower(): i for i, name in enumerate(header)}
    problems: dict[str, str] = {}
    columns: dict[str, int] = {}
    for name in FIELDS:
        if name in mapping:
            wanted = mapping[name].strip().lower()
            if wanted not in lowered:
                problems[f"mapping.{name}"] = f"the file has no column {mapping[name]!r}"
                continue
            columns[name] = lowered[wanted]
            continue
        for guess in GUESSES[name]:
            if guess in lowered:
                columns[name] = lowered[guess]
                break
    if "number" not in columns and "mapping.number" not in problems:
        problems["mapping.number"] = (
            "no column holds the phone number: name it (mapping number=<column>) or call a "
            "column phone or number")
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        problems[f"mapping.{unknown[0]}"] = f"is not a lead field (fields: {', '.join(FIELDS)})"
    if problems:
        raise ImportRefused(problems)
    return columns


def e164(raw: str, region: str) -> str | None:
    """The number in E.164 if it is a valid phone number (national numbers read in `region`);
    a leading apostrophe (how this app's CSV files write a `+` cell) is dropped first."""
    text = raw.strip().removeprefix("'").strip()
    if not text or len(text) > 64:
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def read_leads(text: str, *, region: str, mapping: Mapping[str, str] | None = None,
               known: Mapping[str, int] | None = None, max_rows: int = MAX_ROWS,
               max_chars: int = MAX_CHARS) -> ImportReport:
    """Read a CSV lead list (header line first). `known`: numbers already in the list (number
    -> the line or lead id they came from), reported as duplicates too. ImportRefused when the
    file itself is unusable (size, header, mapping, too many rows)."""
    if len(text) > max_chars:
        raise ImportRefused({"csv": f"is too large: at most {max_chars:,} characters"})
    if "\x00" in text:
        raise ImportRefused({"csv": "is not a text file (it holds NUL characters)"})
    text = text.removeprefix("\ufeff")  # a spreadsheet's byte order mark
    # The header line's most frequent separator (spreadsheets in some locales write `;`).
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused({"csv": "is empty: the first line must name the columns"}) from None
    except csv.Error as exc:
        raise ImportRefused({"csv": f"line 1: {exc}"}) from None
    if len(header) > MAX_COLUMNS:
        raise ImportRefused({"csv": f"has {len(header)} columns: at most {MAX_COLUMNS}"})
    columns = _mapped(header, mapping or {})
    extra = [(i, name.strip()[:100]) for i, name in enumerate(header)
             if i not in columns.values() and name.strip()]
    report = ImportReport()
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            report.rows += 1
            if report.rows > max_rows:
                raise ImportRefused({"csv": f"has more than {max_rows:,} rows: split it"})
            _read_row(row, line, columns, extra, region, seen, known or {}, report)
    except csv.Error as exc:
        raise ImportRefused({"csv": f"line {reader.line_num}: {exc}"}) from None
    return report


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _read_row(row: list[str], line: int, columns: Mapping[str, int],
              extra: list[tuple[int, str]], region: str, seen: dict[str, int],
              known: Mapping[str, int], report: ImportReport) -> None:
    raw = _cell(row, columns["number"])
    if not raw:
        report.invalid.append(RowProblem(line, "number", "no phone number"))
        return
    number = e164(raw, region)
    if number is None:
        report.invalid.append(RowProblem(line, "number",
                                         f"{raw[:40]!r} is not a valid phone number"))
        return
    zone = _cell(row, columns.get("time_zone")) or None
    if zone is not None and not known_zone(zone):
        report.invalid.append(RowProblem(line, "time_zone",
                                         f"{zone[:40]!r} is not an IANA time zone"))
        return
    long = next((name for i, name in extra if len(_cell(row, i)) > MAX_CELL), None)
    if long is not None:
        report.invalid.append(RowProblem(line, long, f"is longer than {MAX_CELL} characters"))
        return
    first = seen.get(number)
    if first is None and number in known:
        report.duplicates.append(RowProblem(line, "number",
                                            f"{number} is already in the list"))
        return
    if first is not None:
        report.duplicates.append(RowProblem(line, "number", f"{number} is also on line {first}",
                                            duplicate_of=first))
        return
    seen[number] = line
    name = _cell(row, columns.get("name"))[:200] or None
    custom = {label: _cell(row, i) for i, label in extra if _cell(row, i)}
    report.leads.append(LeadDraft(line, number, name, zone, custom))
