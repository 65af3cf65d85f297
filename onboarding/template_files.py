"""The downloadable census templates: the header row and one invented example row per sheet."""
import tablib

from .columns import ATTENDANCE, COLUMNS, EXAMPLE_ROWS, PARTICIPANTS

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# name in the URL -> (file name, content type)
TEMPLATES = {
    "participants.csv": ("census-participants.csv", CSV),
    "attendance.csv": ("census-attendance.csv", CSV),
    "census.xlsx": ("census.xlsx", XLSX),
}


def _dataset(kind: str) -> tablib.Dataset:
    dataset = tablib.Dataset(title=kind)
    dataset.headers = [column.name for column in COLUMNS[kind]]
    dataset.append(EXAMPLE_ROWS[kind])
    return dataset


def census_template(name: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the template `name` (a key of TEMPLATES)."""
    file_name, content_type = TEMPLATES[name]
    if name == "census.xlsx":
        book = tablib.Databook([_dataset(PARTICIPANTS), _dataset(ATTENDANCE)])
        return book.export("xlsx"), content_type, file_name
    kind = PARTICIPANTS if name == "participants.csv" else ATTENDANCE
    return _dataset(kind).export("csv").encode("utf-8"), content_type, file_name
