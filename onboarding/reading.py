"""Reading a census file (CSV or XLSX) into sheets of rows, through tablib.

tablib reads both formats (XLSX through openpyxl) into the same Dataset, so the checks see one
shape whatever the clinic's spreadsheet saved. Nothing here judges a value; `checks.py` does.
"""
import io
from dataclasses import dataclass, field

import tablib
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .columns import COLUMNS, KIND_MARKERS, header_key, label_for

MAX_BYTES = 5 * 1024 * 1024
FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


@dataclass
class Row:
    line: int  # the spreadsheet's row number; the header is row 1
    values: dict[str, object]


@dataclass
class Sheet:
    kind: str
    title: str
    rows: list[Row] = field(default_factory=list)


def file_format(file_name: str) -> str:
    """"csv" or "xlsx" from the file's name, else a ValidationError (code bad_format)."""
    suffix = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if suffix not in FORMATS:
        raise ValidationError(_("Upload a .csv or .xlsx file."), code="bad_format")
    return FORMATS[suffix]


def _datasets(content: bytes, fmt: str) -> list[tablib.Dataset]:
    try:
        if fmt == "xlsx":
            book = tablib.Databook()
            book.load(io.BytesIO(content), format="xlsx")
            return list(book.sheets())
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("cp1252")  # Excel's "CSV" on Windows
        return [tablib.Dataset().load(text, format="csv")]
    except ValidationError:
        raise
    except Exception as exc:  # tablib and openpyxl raise many kinds on a damaged file
        raise ValidationError(
            _("This file could not be read as %(format)s. Save it again from the spreadsheet "
              "and upload it."), code="unreadable", params={"format": fmt.upper()}) from exc


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet(dataset: tablib.Dataset, fallback_title: str) -> Sheet | None:
    headers = [header_key(h) for h in (dataset.headers or [])]
    if not any(headers):
        return None  # an empty sheet (a workbook's spare "Sheet2")
    kinds = [kind for kind, marker in KIND_MARKERS.items() if marker in headers]
    title = dataset.title or fallback_title
    if len(kinds) != 1:
        raise ValidationError(
            _("Sheet %(sheet)s: the header row must have a %(participants)s column (participants) "
              "or a %(attendance)s column (attendance), not both."),
            code="unknown_sheet",
            params={"sheet": title, "participants": "first_name", "attendance": "session_date"})
    kind = kinds[0]
    known = {c.name for c in COLUMNS[kind]}
    unknown = [h for h in headers if h and h not in known]
    if unknown:
        raise ValidationError(
            _("Sheet %(sheet)s: unknown columns %(columns)s. Use the template's header row."),
            code="unknown_column", params={"sheet": title, "columns": ", ".join(unknown)})
    missing = [label_for(kind, c.name) for c in COLUMNS[kind] if c.required and c.name not in headers]
    if missing:
        raise ValidationError(_("Sheet %(sheet)s: missing columns %(columns)s."),
                              code="missing_column",
                              params={"sheet": title, "columns": ", ".join(missing)})
    if len(set(h for h in headers if h)) != len([h for h in headers if h]):
        raise ValidationError(_("Sheet %(sheet)s: a column appears twice."),
                              code="duplicate_column", params={"sheet": title})
    sheet = Sheet(kind=kind, title=title)
    for index, values in enumerate(dataset):
        if all(_blank(v) for v in values):
            continue
        sheet.rows.append(Row(line=index + 2, values={
            name: value for name, value in zip(headers, values) if name}))
    return sheet


def read_census(*, content: bytes, file_name: str) -> list[Sheet]:
    """The file's sheets: at most one participants and one attendance sheet.

    Codes: bad_format, too_big, unreadable, unknown_sheet, unknown_column, missing_column,
    duplicate_column, duplicate_sheet, empty_file.
    """
    fmt = file_format(file_name)
    if len(content) > MAX_BYTES:
        raise ValidationError(_("The file is larger than %(mb)s MB; split it."), code="too_big",
                              params={"mb": MAX_BYTES // (1024 * 1024)})
    sheets = [s for n, d in enumerate(_datasets(content, fmt), start=1)
              if (s := _sheet(d, f"{n}")) is not None]
    kinds = [s.kind for s in sheets]
    twice = [kind for kind in kinds if kinds.count(kind) > 1]
    if twice:
        raise ValidationError(_("The file has two %(kind)s sheets; keep one."),
                              code="duplicate_sheet", params={"kind": twice[0]})
    if not any(s.rows for s in sheets):
        raise ValidationError(_("The file has no rows under its header."), code="empty_file")
    return sheets
