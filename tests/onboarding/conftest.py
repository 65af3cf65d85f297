"""A clinic ready to take its census: a director, a rolling evening track that meets on Mondays
at 6 pm (weeks of past sessions and a few ahead), and helpers that write census files."""
import datetime as dt
import io
import zoneinfo

import pytest
import tablib
from django.utils import timezone

from onboarding.columns import ATTENDANCE, COLUMNS, PARTICIPANTS
from tests import factories

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def mondays_around_today(weeks_back: int = 8, weeks_ahead: int = 3) -> list[dt.date]:
    today = timezone.localdate(timezone=NEW_YORK)
    monday = today - dt.timedelta(days=today.weekday())
    return [monday + dt.timedelta(weeks=n) for n in range(-weeks_back, weeks_ahead + 1)]


@pytest.fixture
def track(site):
    days = mondays_around_today()
    track = factories.TrackFactory(site=site, name="Evening group", mode="rolling",
                                   start_date=days[0], capacity=3)
    for day in days:
        starts = dt.datetime.combine(day, dt.time(18, 0), tzinfo=NEW_YORK)
        factories.TherapySessionFactory(track=track, starts_at=starts,
                                        ends_at=starts + dt.timedelta(hours=3), local_date=day)
    return track


@pytest.fixture
def past_mondays():
    today = timezone.localdate(timezone=NEW_YORK)
    return [d for d in mondays_around_today() if d < today]


def participant_row(number: str, **values) -> dict:
    row = {"record_number": number, "first_name": "Avery", "last_name": f"Example{number}",
           "date_of_birth": "1990-04-12", "email": f"{number.lower()}@mail.example.com",
           "mobile_phone": "(201) 555-0123", "sms_consent": "yes", "email_consent": "no",
           "track": "Evening group", "admission_date": "", "enrollment_status": "active"}
    row.update(values)
    return row


def attendance_row(number: str, day: dt.date, **values) -> dict:
    row = {"record_number": number, "session_date": day.isoformat(), "session_time": "18:00",
           "attendance_status": "present", "minutes": ""}
    row.update(values)
    return row


def dataset(kind: str, rows: list[dict]) -> tablib.Dataset:
    data = tablib.Dataset(title=kind)
    data.headers = [c.name for c in COLUMNS[kind]]
    for row in rows:
        data.append([row.get(name, "") for name in data.headers])
    return data


def census_csv(kind: str, rows: list[dict]) -> bytes:
    return dataset(kind, rows).export("csv").encode()


def census_xlsx(people: list[dict], visits: list[dict]) -> bytes:
    book = tablib.Databook([dataset(PARTICIPANTS, people), dataset(ATTENDANCE, visits)])
    return book.export("xlsx")


def xlsx_file(content: bytes) -> io.BytesIO:
    return io.BytesIO(content)
