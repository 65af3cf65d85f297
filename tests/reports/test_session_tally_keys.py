"""The session's keys kept on its tally (reports.SessionTally, migration 0008) follow the session
and its site through every change that moves them, and the attendance report's cells, read from
the tallies alone, stay the live computation's (`_attendance_cells_live`)."""
import datetime as dt

import pytest
from django.db import connection
from django.db.models import F

from programs.models import Site
from reports import selectors as reports
from sessions.models import Attendance, TherapySession
from tests import factories
from tests.reports.world import build_report_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NY = dt.timezone(dt.timedelta(hours=-5))  # February in New York (EST)

_KEYS = "site_id, local_date, status, track_id, kind, weekday, part, length"
# The keys worked out afresh from each tally's session and site, as the cells' live statement
# works them out (reports.selectors: _ISO_WEEKDAY, _PART_OF_DAY, _SESSION_MICROSECONDS).
_LIVE_KEYS = (
    "SELECT t.session_id, s.site_id, s.local_date, s.status, s.track_id, s.kind, "
    f"{reports._ISO_WEEKDAY.replace('%%', '%')}, {reports._PART_OF_DAY}, "
    f"{reports._SESSION_MICROSECONDS} FROM reports_session_tally t "
    "JOIN iop_sessions_therapysession s ON s.id = t.session_id "
    "JOIN programs_site site ON site.id = s.site_id")


def _by_session(sql: str) -> dict[int, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)  # no parameters: no % to escape
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def _kept_keys() -> dict[int, tuple]:
    return _by_session(f"SELECT session_id, {_KEYS} FROM reports_session_tally")


def _live_keys() -> dict[int, tuple]:
    return _by_session(_LIVE_KEYS)


def _cells(scope) -> list[dict]:
    return sorted(reports._attendance_cells(scope), key=repr)


def _assert_kept(w, *scopes) -> None:
    """Every tally's keys are its session's, and the report's cells the live count's."""
    assert _kept_keys() == _live_keys()
    for scope in (w.scope(), w.scope(program_id=w.program.pk), w.scope(track_id=w.t1.pk),
                  w.scope(site_ids=(w.site.pk, w.other_site.pk)), *scopes):
        assert _cells(scope) == sorted(reports._attendance_cells_live(scope), key=repr), scope


def _session(w, day: dt.date) -> TherapySession:
    return TherapySession.objects.get(track=w.t1, local_date=day)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NY).astimezone(dt.UTC)


def _parts(scope) -> dict[str, int]:
    """Attended rows per part of the day."""
    return {part: sums[4] for part, sums in reports._attendance_groups(scope)["part"].items()}


@pytest.fixture
def w():
    return build_report_world()


def test_it_keeps_the_sessions_keys_on_the_tallies_already_there(w):
    tallies = _kept_keys()
    assert tallies and all(keys[0] is not None for keys in tallies.values())
    _assert_kept(w)


def test_a_session_rescheduled_across_noon_and_five_moves_to_that_part_of_the_day(w):
    s2 = _session(w, dt.date(2026, 2, 4))  # 6-9 pm: Blake present, Avery late
    assert _parts(w.scope()) == {"evening": 4, "morning": 1}
    # 11:59 am to 1 pm (a shorter session), as a QuerySet update writes it.
    TherapySession.objects.filter(pk=s2.pk).update(starts_at=_at(s2.local_date, 11, 59),
                                                   ends_at=_at(s2.local_date, 13))
    _assert_kept(w)
    assert _parts(w.scope()) == {"evening": 2, "morning": 3}
    # Noon sharp, through the model's save.
    s2.refresh_from_db()
    s2.starts_at, s2.ends_at = _at(s2.local_date, 12), _at(s2.local_date, 14, 30)
    s2.save()
    _assert_kept(w)
    assert _parts(w.scope()) == {"evening": 2, "afternoon": 2, "morning": 1}
    # 4:59 pm, then 5 pm.
    TherapySession.objects.filter(pk=s2.pk).update(starts_at=_at(s2.local_date, 16, 59),
                                                   ends_at=_at(s2.local_date, 18))
    _assert_kept(w)
    assert _parts(w.scope()) == {"evening": 2, "afternoon": 2, "morning": 1}
    TherapySession.objects.filter(pk=s2.pk).update(starts_at=_at(s2.local_date, 17),
                                                   ends_at=_at(s2.local_date, 18, 47))
    _assert_kept(w)
    assert _parts(w.scope()) == {"evening": 4, "morning": 1}


def test_a_session_moved_to_another_day_counts_on_that_day(w):
    s2 = _session(w, dt.date(2026, 2, 4))  # Wednesday
    TherapySession.objects.filter(pk=s2.pk).update(
        starts_at=F("starts_at") + dt.timedelta(days=1), ends_at=F("ends_at") + dt.timedelta(days=1),
        local_date=F("local_date") + dt.timedelta(days=1))
    _assert_kept(w)
    weekdays = {cell["weekday"] for cell in reports._attendance_cells(w.scope())}
    assert 4 in weekdays  # Thursday
    # Out of the range, then back into it.
    s1 = _session(w, dt.date(2026, 2, 2))
    TherapySession.objects.filter(pk=s1.pk).update(
        starts_at=F("starts_at") - dt.timedelta(days=7), ends_at=F("ends_at") - dt.timedelta(days=7),
        local_date=F("local_date") - dt.timedelta(days=7))
    _assert_kept(w, w.scope(date_from=dt.date(2026, 1, 26)))
    assert reports._attendance_groups(w.scope())["all"]["all"][4:] == (4, 0, 1, 2)


def test_a_session_cancelled_or_restored_leaves_or_joins_the_report(w):
    s2 = _session(w, dt.date(2026, 2, 4))
    TherapySession.objects.filter(pk=s2.pk).update(status="cancelled")
    _assert_kept(w)
    assert reports._attendance_groups(w.scope())["all"]["all"][4:] == (3, 1, 1, 2)
    s2.refresh_from_db()
    s2.status = "scheduled"
    s2.save()
    _assert_kept(w)
    assert reports._attendance_groups(w.scope())["all"]["all"][4:] == (5, 1, 1, 2)


def test_a_session_moved_to_another_track_or_site_counts_there(w):
    other_program = factories.ProgramFactory(name="Evening IOP")
    t2 = factories.TrackFactory(site=w.site, program=other_program, name="T2",
                                start_date=dt.date(2026, 2, 2))
    s2 = _session(w, dt.date(2026, 2, 4))
    TherapySession.objects.filter(pk=s2.pk).update(track=t2)
    _assert_kept(w, w.scope(track_id=t2.pk), w.scope(program_id=other_program.pk))
    assert reports._attendance_groups(w.scope(track_id=t2.pk))["all"]["all"][4:] == (2, 0, 0, 0)
    # Then to the other site, whose session there is at 3 pm in Los Angeles: S2 too.
    TherapySession.objects.filter(pk=s2.pk).update(site=w.other_site)
    _assert_kept(w, w.scope(site_ids=(w.other_site.pk,)))
    assert _parts(w.scope(site_ids=(w.other_site.pk,))) == {"afternoon": 3}


def test_a_sites_time_zone_changed_moves_its_sessions_part_of_the_day(w):
    # Avery's individual session at 10 am in New York is 3 pm in London; the groups, 11 pm.
    assert _parts(w.scope()) == {"evening": 4, "morning": 1}
    Site.objects.filter(pk=w.site.pk).update(time_zone="Europe/London")
    _assert_kept(w)
    assert _parts(w.scope()) == {"evening": 4, "afternoon": 1}
    site = Site.objects.get(pk=w.site.pk)
    site.time_zone = "Pacific/Honolulu"  # 1 pm and 5 am
    site.save()
    _assert_kept(w)
    assert _parts(w.scope()) == {"afternoon": 4, "morning": 1}


def test_a_new_sessions_first_attendance_row_makes_its_tally_with_its_keys(w):
    """The tally is inserted by the attendance triggers with the session's first row; the
    later rows update it, and a session with no row has no tally."""
    day = dt.date(2026, 2, 12)  # a Thursday
    new = factories.TherapySessionFactory(
        track=w.t1, site=w.site, session_type__name="Skills", facilitator=w.lead,
        starts_at=_at(day, 12, 30), ends_at=_at(day, 13, 17) + dt.timedelta(seconds=30))
    assert new.pk not in _kept_keys()
    Attendance.objects.create(session=new, participant=w.avery, status="present")
    assert _kept_keys()[new.pk] == (w.site.pk, day, "scheduled", w.t1.pk, new.kind, 4, 1,
                                    47 * 60_000_000 + 30_000_000)
    Attendance.objects.bulk_create([
        Attendance(session=new, participant=w.blake, status="absent"),
        Attendance(session=new, participant=w.casey, status="late", minutes_attended=20)])
    _assert_kept(w)
    # Another, whose first rows come in bulk.
    other = factories.TherapySessionFactory(
        track=w.t1, site=w.site, session_type=new.session_type, facilitator=w.lead,
        starts_at=_at(day, 8), ends_at=_at(day, 9))
    Attendance.objects.bulk_create([
        Attendance(session=other, participant=w.avery, status="excused"),
        Attendance(session=other, participant=w.casey, status="present")])
    _assert_kept(w)
    assert reports._attendance_groups(w.scope())["weekday"][4][4:] == (3, 1, 1, 0)


def test_a_tallys_keys_written_by_hand_are_read_again_from_the_session(w):
    tally = reports.SessionTally.objects.filter(session__local_date=dt.date(2026, 2, 4))
    tally.update(part=0, weekday=7, length=1, local_date=dt.date(2030, 1, 1))
    _assert_kept(w)


def test_the_migrations_fill_gives_the_tallies_already_there_their_sessions_keys(w):
    import importlib

    migration = importlib.import_module("reports.migrations.0008_session_tally_keys")
    with connection.cursor() as cursor:
        # The tallies as the migration finds them: counts, no keys.
        cursor.execute("ALTER TABLE reports_session_tally DISABLE TRIGGER reports_session_tally_keys")
        cursor.execute(f"UPDATE reports_session_tally SET ({_KEYS}) = "
                       "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
        cursor.execute("ALTER TABLE reports_session_tally ENABLE TRIGGER reports_session_tally_keys")
        assert all(keys == (None,) * 8 for keys in _kept_keys().values())
        low, high = min(_kept_keys()), max(_kept_keys())
        for start in range(low, high + 1, 2):  # batches of two sessions
            cursor.execute(migration.PG_FILL_BATCH, [start, start + 2])
    _assert_kept(w)
