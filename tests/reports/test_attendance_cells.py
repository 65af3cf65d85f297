"""The attendance and staff load reports sum session lengths in whole microseconds and turns them into minutes
in Python; pinned against the numeric SQL it replaced (EXTRACT(EPOCH ...) / 60 per session,
summed by PostgreSQL), with sessions of odd lengths (seconds, half minutes) added to the report
clinic, for the tally and for the live count behind a caseload or track filter."""
import dataclasses
import datetime as dt

import pytest
from django.db.models import Count, F, FloatField, Q, Sum

from iop_clinic.prepared import fetchall
from reports import selectors as reports
from sessions.models import Attendance, TherapySession
from tests import factories
from tests.reports.world import build_report_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# The cells query as it was before the microsecond sums (reports/selectors.py, _cells_sql).
_OLD_LENGTH = "(EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) / 60)"
_OLD_CELLS = (
    "SELECT COALESCE(t.name, %s) AS track_label, s.kind AS session__kind, "
    "EXTRACT(ISODOW FROM s.local_date)::int AS weekday, "
    "CASE WHEN EXTRACT(HOUR FROM (s.starts_at AT TIME ZONE site.time_zone)) >= 17 THEN 'evening' "
    "WHEN EXTRACT(HOUR FROM (s.starts_at AT TIME ZONE site.time_zone)) >= 12 THEN 'afternoon' "
    "ELSE 'morning' END AS part, "
    f"SUM((a.attended + a.absent) * {_OLD_LENGTH}), "
    f"SUM(COALESCE(a.recorded, 0) + a.unrecorded * {_OLD_LENGTH}), "
    f"SUM(a.excused * {_OLD_LENGTH}), SUM(a.attended), SUM(a.absent), SUM(a.excused), "
    "SUM(a.unmarked) FROM ({counts}) AS a JOIN iop_sessions_therapysession s "
    "ON s.id = a.session_id JOIN programs_site site ON site.id = s.site_id "
    "LEFT JOIN programs_track t ON t.id = s.track_id {where} GROUP BY 1, 2, 3, 4"
)
_OLD_NAMES = ("track", "kind", "weekday", "part", "held", "attended_minutes", "excused",
              "attended", "absent", "n_excused", "unmarked")


def _old_cells(scope) -> list[dict]:
    """The cells as the old SQL summed them, over the same per-session counts."""
    if not (scope.clinician_id or scope.program_id or scope.track_id):
        counts = ("SELECT session_id, attended, absent, excused, unmarked, "
                  "recorded_minutes AS recorded, unrecorded FROM reports_session_tally")
        where = ("WHERE s.site_id = ANY(%s) AND s.status = 'scheduled' AND s.local_date >= %s "
                 "AND s.local_date <= %s AND a.attended + a.absent + a.excused + a.unmarked > 0")
        params = ("Individual and family sessions", list(scope.site_ids), scope.date_from,
                  scope.held_until)
    else:
        attended = reports.ATTENDED
        # The caseload as a plain join on the participant (the report looks the caseload's ids
        # up first, then their rows).
        held = reports._held_attendance_q(dataclasses.replace(scope, clinician_id=None))
        if scope.clinician_id:
            held &= Q(participant__primary_clinician_id=scope.clinician_id)
        counted = (
            Attendance.objects.filter(held)
            .values("session_id").order_by().annotate(
                recorded=Sum("minutes_attended", filter=Q(status__in=attended)),
                unrecorded=Count("pk", filter=Q(status__in=attended,
                                                minutes_attended__isnull=True)),
                attended=Count("pk", filter=Q(status__in=attended)),
                absent=Count("pk", filter=Q(status="absent")),
                excused=Count("pk", filter=Q(status="excused")),
                unmarked=Count("pk", filter=Q(status="expected"))))
        counts, inner = counted.query.sql_with_params()
        where, params = "", ("Individual and family sessions", *inner)
    rows = fetchall(_OLD_CELLS.replace("{counts}", counts).replace("{where}", where),
                          params)
    return [dict(zip(_OLD_NAMES, row, strict=True)) for row in rows]


def _old_rows(scope) -> dict[str, list[tuple]]:
    """Each grouping's (label, held, attended, excused minutes, counts) as the old code had it."""
    cells = _old_cells(scope)

    def grouped(key) -> list[tuple]:
        sums: dict = {}
        for cell in cells:
            group = sums.setdefault(key(cell), [0] * 7)
            for i, name in enumerate(("held", "attended_minutes", "excused", "attended",
                                      "absent", "n_excused", "unmarked")):
                group[i] += cell[name] or 0
        return [(label, round(g[0]), round(g[1]), round(g[2]), *g[3:])
                for label, g in sorted(sums.items())]

    return {"total": grouped(lambda cell: "all"), "track": grouped(lambda cell: cell["track"]),
            "kind": grouped(lambda cell: cell["kind"]),
            "weekday": grouped(lambda cell: cell["weekday"]),
            "part": grouped(lambda cell: cell["part"])}


def _new_rows(scope) -> dict[str, list[tuple]]:
    report = reports.attendance_report(scope=scope)

    def plain(rows, labels) -> list[tuple]:
        return sorted((label, r.held_minutes, r.attended_minutes, r.excused_minutes, r.attended,
                       r.absent, r.excused, r.unmarked) for label, r in zip(labels, rows,
                                                                            strict=True))

    cells = reports._attendance_cells(scope)
    kinds = sorted({cell["session__kind"] for cell in cells})
    weekdays = sorted({cell["weekday"] for cell in cells})
    parts = [key for key, _ in reports._TIME_OF_DAY if key in {cell["part"] for cell in cells}]
    return {"total": plain([report.total], ["all"]) if cells else [],
            "track": plain(report.by_track, [r.label for r in report.by_track]),
            "kind": plain(report.by_kind, kinds), "weekday": plain(report.by_weekday, weekdays),
            "part": plain(report.by_time_of_day, parts)}


@pytest.fixture
def w():
    world = build_report_world()
    # Sessions whose lengths are not whole minutes: 47.5 minutes and 50 minutes 20 seconds.
    group = factories.TherapySessionFactory(
        track=world.t1, site=world.site, session_type__name="Odd group", facilitator=world.lead,
        starts_at=dt.datetime(2026, 2, 3, 14, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 2, 3, 14, 47, 30, tzinfo=dt.UTC))
    other = factories.TherapySessionFactory(
        track=world.t1, site=world.site, session_type=group.session_type, facilitator=world.lead,
        starts_at=dt.datetime(2026, 2, 5, 23, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 2, 5, 23, 50, 20, tzinfo=dt.UTC))
    Attendance.objects.bulk_create([
        Attendance(session=group, participant=world.avery, status="present"),
        Attendance(session=group, participant=world.blake, status="absent"),
        Attendance(session=group, participant=world.casey, status="excused"),
        Attendance(session=other, participant=world.avery, status="late", minutes_attended=31),
        Attendance(session=other, participant=world.blake, status="present"),
        Attendance(session=other, participant=world.casey, status="absent"),
    ])
    return world


def test_it_sums_the_same_minutes_as_the_numeric_sql_it_replaced(w):
    scope = w.scope()
    assert reports._uses_tally(scope)
    new = _new_rows(scope)
    assert new == _old_rows(scope)
    # Attended: the world's 750 minutes, then 47.5 (Avery, nothing recorded), 31 (Avery,
    # recorded) and 50 1/3 (Blake, nothing recorded): 878.83, rounded once.
    assert new["total"][0][2] == 879


def test_it_sums_the_same_minutes_from_the_rows_for_a_caseload(w):
    scope = w.scope(clinician_id=w.clinician.pk)
    assert not reports._uses_tally(scope)
    assert _new_rows(scope) == _old_rows(scope)


def test_a_caseload_counts_its_own_rows_only_within_the_other_filters(w):
    # Blake and Casey, not in Kim's caseload, sit in the same sessions as Avery.
    mine = w.scope(clinician_id=w.clinician.pk)
    # Avery's rows only: attended S1, S2, the individual and the two odd sessions; excused S5;
    # S6 unmarked (S7 is after the range's held days).
    assert _new_rows(mine)["total"][0][4:] == (5, 0, 1, 1)
    for scope in (w.scope(clinician_id=w.clinician.pk, track_id=w.t1.pk),
                  w.scope(clinician_id=w.clinician.pk, program_id=w.program.pk),
                  w.scope(clinician_id=w.lead.pk)):  # the lead's caseload is empty
        assert _new_rows(scope) == _old_rows(scope)
    assert _new_rows(w.scope(clinician_id=w.lead.pk))["total"] == []


def test_a_caseload_counts_only_held_sessions_of_its_sites_and_range(w):
    """A caseload's rows are counted per session whatever the session, then only the held
    sessions of the scope's sites and days kept: not a row at another site, at a session the
    clinic cancelled (the row itself left present), nor after the range's held days."""
    stranger = Attendance.objects.get(session__site=w.other_site).participant
    stranger.primary_clinician = w.clinician
    stranger.save()
    cancelled = factories.TherapySessionFactory(
        track=w.t1, site=w.site, session_type__name="Called off", facilitator=w.lead,
        status="cancelled", starts_at=dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 2, 10, 16, 0, tzinfo=dt.UTC))
    Attendance.objects.create(session=cancelled, participant=w.avery, status="present")
    mine = w.scope(clinician_id=w.clinician.pk)
    assert _new_rows(mine) == _old_rows(mine)
    # Avery's rows as before the stranger and the called-off session.
    assert _new_rows(mine)["total"][0][4:] == (5, 0, 1, 1)
    both = w.scope(clinician_id=w.clinician.pk, site_ids=(w.site.pk, w.other_site.pk))
    assert _new_rows(both) == _old_rows(both)
    assert _new_rows(both)["total"][0][4:] == (6, 0, 1, 1)
    for scope in (mine, both, w.scope(clinician_id=w.clinician.pk, date_to=dt.date(2026, 2, 4))):
        assert sorted(reports._attendance_cells(scope), key=repr) == sorted(
            reports._attendance_cells_live(scope), key=repr), scope


def test_a_caseload_with_history_counts_only_its_rows_in_the_range(w):
    """A caseload keeps the people discharged long ago (their primary clinician stays) and its
    members' rows from before the range: none of them counts, whether or not the session was
    held, nor a follow-up booked after the range's held days; the cells stay the live count's
    and the old SQL's (a guard for any bound on the caseload's rows by the range)."""
    # Casey's earlier cohort (Oct-Dec 2025) and a follow-up after today, now Kim's caseload.
    w.casey.primary_clinician = w.clinician
    w.casey.save()
    earlier = w.casey.enrollments.get(status="completed")
    old_group = factories.SessionTypeFactory(name="Old group")
    long_ago = [factories.TherapySessionFactory(
        track=earlier.track, site=w.site, session_type=old_group, facilitator=w.lead,
        starts_at=dt.datetime(2025, 11, day, 23, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2025, 11, day, 23, 50, 20, tzinfo=dt.UTC)) for day in (3, 5, 10)]
    follow_up = factories.TherapySessionFactory(
        track=None, site=w.site, session_type__name="Check-in", session_type__kind="individual",
        kind="individual", participant=w.casey, facilitator=w.clinician,
        starts_at=dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 3, 15, 30, tzinfo=dt.UTC))
    # A member discharged before the range, with every row before it.
    gone = factories.ParticipantFactory(home_site=w.site, primary_clinician=w.clinician)
    gone_enrollment = factories.EnrollmentFactory(
        participant=gone, track=earlier.track, admission_date=dt.date(2025, 10, 6),
        status="discharged", discharge_date=dt.date(2025, 11, 20),
        discharge_reason="non_attendance")
    Attendance.objects.bulk_create([
        Attendance(session=long_ago[0], participant=w.casey, enrollment=earlier, status="present"),
        Attendance(session=long_ago[1], participant=w.casey, enrollment=earlier, status="late",
                   minutes_attended=20),
        Attendance(session=long_ago[2], participant=w.casey, enrollment=earlier,
                   status="excused"),
        Attendance(session=long_ago[0], participant=gone, enrollment=gone_enrollment,
                   status="absent"),
        Attendance(session=long_ago[1], participant=gone, enrollment=gone_enrollment,
                   status="present", minutes_attended=40),
        Attendance(session=follow_up, participant=w.casey, status="present"),
    ])
    mine = w.scope(clinician_id=w.clinician.pk)
    assert _new_rows(mine) == _old_rows(mine)
    # Avery's rows (5 attended, 1 excused, 1 unmarked) and Casey's in the range: the odd
    # sessions excused and absent, S5 present, S6 unmarked; nothing from November nor March.
    assert _new_rows(mine)["total"][0][4:] == (6, 1, 2, 2)
    autumn = w.scope(clinician_id=w.clinician.pk, date_from=dt.date(2025, 11, 1),
                     date_to=dt.date(2025, 11, 30))
    # November alone: Casey's three rows and the discharged member's two.
    assert _new_rows(autumn) == _old_rows(autumn)
    assert _new_rows(autumn)["total"][0][4:] == (3, 1, 1, 0)
    for scope in (mine, autumn, w.scope(clinician_id=w.clinician.pk, date_to=dt.date(2026, 2, 4))):
        assert sorted(reports._attendance_cells(scope), key=repr) == sorted(
            reports._attendance_cells_live(scope), key=repr), scope
    # The same caseload within its program or its earlier stay's track (rows found by the
    # kept session date, then kept by the session's track): the earlier stay's rows count in
    # November only, never in the current range.
    for extra in ({"program_id": w.program.pk}, {"track_id": earlier.track_id},
                  {"track_id": w.t1.pk}):
        for days in ({}, {"date_from": dt.date(2025, 11, 1), "date_to": dt.date(2025, 11, 30)}):
            scope = w.scope(clinician_id=w.clinician.pk, **extra, **days)
            assert _new_rows(scope) == _old_rows(scope), scope
            assert sorted(reports._attendance_cells(scope), key=repr) == sorted(
                reports._attendance_cells_live(scope), key=repr), scope
    in_program_autumn = w.scope(clinician_id=w.clinician.pk, program_id=w.program.pk,
                                date_from=dt.date(2025, 11, 1), date_to=dt.date(2025, 11, 30))
    assert _new_rows(in_program_autumn)["total"][0][4:] == (3, 1, 1, 0)
    assert _new_rows(w.scope(clinician_id=w.clinician.pk, track_id=w.t1.pk,
                             date_from=dt.date(2025, 11, 1),
                             date_to=dt.date(2025, 11, 30)))["total"] == []


def test_a_program_or_track_counts_its_sessions_whole_and_personal_rows_by_enrollment(w):
    # Another program at the site: a group session of its own track, and a personal session
    # whose rows count by each row's enrollment (Blake's in the other program, Avery's in T1).
    other = factories.TrackFactory(site=w.site, program=factories.ProgramFactory(name="Other"),
                                   name="T9", start_date=dt.date(2026, 1, 5))
    group = factories.TherapySessionFactory(
        track=other, site=w.site, facilitator=w.lead,
        starts_at=dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 2, 10, 16, 0, tzinfo=dt.UTC))
    personal = factories.TherapySessionFactory(  # a family session of Blake's, Avery there too
        track=None, site=w.site, facilitator=w.lead, participant=w.blake, kind="family",
        starts_at=dt.datetime(2026, 2, 11, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 2, 11, 15, 30, tzinfo=dt.UTC))
    blake_there = factories.EnrollmentFactory(participant=w.blake, track=other,
                                              admission_date=dt.date(2026, 1, 5))
    avery_in_t1 = w.avery.enrollments.get(track=w.t1)
    Attendance.objects.bulk_create([
        Attendance(session=group, participant=w.blake, enrollment=blake_there, status="present"),
        Attendance(session=group, participant=w.casey, status="absent"),
        Attendance(session=personal, participant=w.blake, enrollment=blake_there,
                   status="late", minutes_attended=20),
        Attendance(session=personal, participant=w.avery, enrollment=avery_in_t1,
                   status="present"),
    ])
    w.blake.primary_clinician = w.clinician  # Kim's caseload: Avery and Blake
    w.blake.save()
    filters = [{"program_id": w.program.pk}, {"program_id": other.program_id},
               {"track_id": w.t1.pk}, {"track_id": other.pk},
               {"program_id": w.program.pk, "track_id": w.t1.pk},
               {"program_id": w.program.pk, "track_id": other.pk}]
    scopes = [w.scope(**kwargs) for kwargs in filters] + [
        w.scope(clinician_id=w.clinician.pk, **kwargs) for kwargs in filters]
    for scope in scopes:
        # As counted from the rows themselves, each placed by _session_track_q (the tally's
        # triggers kept the tallies).
        assert _new_rows(scope) == _old_rows(scope), scope
        assert sorted(reports._attendance_cells(scope), key=repr) == sorted(
            reports._attendance_cells_live(scope), key=repr), scope
    # The other program: its session whole (Blake present, Casey absent) and Blake's late row
    # of the personal session; not Avery's.
    assert _new_rows(w.scope(program_id=other.program_id))["total"][0][4:] == (2, 1, 0, 0)
    assert _new_rows(w.scope(program_id=w.program.pk, track_id=other.pk))["total"] == []
    # Kim's caseload in the other program: Blake's present and late rows, not Casey's absence.
    assert _new_rows(w.scope(clinician_id=w.clinician.pk, program_id=other.program_id))[
        "total"][0][4:] == (2, 0, 0, 0)


def _old_staff_load(scope) -> list[tuple]:
    """The staff load's query before the microsecond sums (numeric minutes per session)."""
    length = reports.Minutes(F("ends_at"), F("starts_at"))
    rows = (
        TherapySession.objects.filter(
            site_id__in=scope.site_ids, status="scheduled", facilitator__isnull=False,
            local_date__gte=scope.date_from, local_date__lte=scope.held_until)
        .values("facilitator_id").order_by("facilitator_id")
        .annotate(n=Count("pk"), minutes=Sum(length),
                  participant_minutes=Sum(F("report_tally__recorded_minutes")
                                          + F("report_tally__unrecorded") * length,
                                          output_field=FloatField())))
    return [(row["facilitator_id"], row["n"], round(row["minutes"] or 0),
             round(row["participant_minutes"] or 0)) for row in rows]


def test_it_sums_each_clinicians_load_as_the_numeric_sql_did(w):
    scope = w.scope()
    new = sorted((row.clinician_id, row.sessions, row.session_minutes, row.participant_minutes)
                 for row in reports.staff_load_report(scope=scope))
    assert new == _old_staff_load(scope)
    # Lee led the held group sessions (S1, S2, S5, S6: S3 and S4 were cancelled, S7 is after
    # today) and the two odd ones: 47.5 + 50 1/3 minutes more.
    lead = next(row for row in new if row[0] == w.lead.pk)
    assert lead[2] == round(4 * 180 + 47.5 + 50 + 1 / 3)


def _rolled_up(cells: list[dict]) -> dict[str, dict]:
    """The cells added up by each grouping in Python, as attendance_report did before
    PostgreSQL's GROUPING SETS: each key's sums, in reports._CELL_SUMS' order."""
    found: dict[str, dict] = {grouping: {} for grouping in reports._GROUPINGS}
    for cell in cells:
        sums = tuple(cell[name] or 0 for name in reports._CELL_SUMS)
        for grouping, groups in found.items():
            key = "all" if grouping == "all" else cell[grouping]
            before = groups.get(key, (0,) * len(sums))
            groups[key] = tuple(a + b for a, b in zip(before, sums, strict=True))
    found["all"].setdefault("all", reports._NO_SUMS)  # the report's total of no cells
    return found


def test_it_adds_the_cells_up_by_each_grouping_as_python_did(w):
    scopes = [w.scope(), w.scope(clinician_id=w.clinician.pk), w.scope(track_id=w.t1.pk),
              w.scope(program_id=w.program.pk),
              w.scope(date_from=dt.date(2025, 1, 5), date_to=dt.date(2025, 1, 9))]
    for scope in scopes:
        cells = reports._attendance_cells(scope)
        assert reports._attendance_groups(scope) == _rolled_up(cells), scope
    assert len(reports._attendance_groups(scope=w.scope())["track_label"]) == 2


def test_the_sites_are_bound_one_value_each_and_no_sites_is_no_cells(w):
    """The sites as `IN ($1, ...)` (a generic plan PostgreSQL keeps, not one planned a run),
    with the same cells as `= ANY` of their array; no sites: `= ANY` of an empty array."""
    other = factories.SiteFactory()
    for scope in (w.scope(site_ids=(w.site.pk, other.pk)), w.scope(program_id=w.program.pk)):
        sql, params = reports._attendance_cells_sql(scope)
        # The tallies by their own kept site (`a`), a program's personal sessions by theirs.
        assert "a.site_id IN %s" in sql and tuple(scope.site_ids) in params
        old_sql = sql.replace("a.site_id IN %s", "a.site_id = ANY(%s)").replace(
            "s.site_id IN %s", "s.site_id = ANY(%s)")
        old_params = tuple(list(p) if p == tuple(scope.site_ids) else p for p in params)
        assert fetchall(sql, params) == fetchall(old_sql, old_params)
        assert fetchall(sql, params)
    assert reports._attendance_cells(w.scope(site_ids=())) == []
    assert reports._attendance_groups(w.scope(site_ids=()))["all"] == {"all": reports._NO_SUMS}


def test_sqlites_sums_in_python_equal_the_grouping_sets(w):
    """SQLite (`make run`) has no GROUPING SETS: the cells are added up in Python there."""
    scopes = [w.scope(), w.scope(clinician_id=w.clinician.pk), w.scope(track_id=w.t1.pk),
              w.scope(date_from=dt.date(2025, 1, 5), date_to=dt.date(2025, 1, 9))]
    for scope in scopes:
        assert (reports._sqlite_attendance_groups(reports._attendance_cells(scope))
                == reports._attendance_groups(scope)), scope


# The below-minimum query before the unmarked time was summed in microseconds: numeric minutes
# a session (EXTRACT(EPOCH ...) / 60), compared and subtracted as numerics.
_OLD_BELOW = (
    "WITH e AS ({e}), "
    "w AS (SELECT h.participant_id, h.week, SUM(h.attended_minutes::int) AS attended, "
    "SUM(h.offered_minutes::int) AS offered, SUM(h.expected_minutes::int) AS expected, "
    "SUM(h.excused_minutes::int) AS excused FROM iop_sessions_week_hours h "
    "JOIN programs_sessiontype st ON st.id = h.session_type_id AND st.counts_toward_hours "
    "WHERE h.week = ANY(%s) AND h.participant_id IN (SELECT participant_id FROM e) "
    "GROUP BY 1, 2), "
    "u AS (SELECT a.participant_id, date_trunc('week', s.local_date)::date AS week, "
    f"SUM({_OLD_LENGTH}) AS minutes FROM iop_sessions_attendance a "
    "JOIN iop_sessions_therapysession s ON s.id = a.session_id "
    "JOIN programs_sessiontype st ON st.id = s.session_type_id AND st.counts_toward_hours "
    "WHERE s.local_date >= %s AND s.local_date <= %s AND s.local_date < %s "
    "AND s.status = 'scheduled' AND a.status = 'expected' "
    "AND a.participant_id IN (SELECT participant_id FROM e) GROUP BY 1, 2), "
    "b AS (SELECT m.monday, e.id, e.participant_id, COALESCE(w.attended, 0) AS attended, "
    "COALESCE(w.offered, 0) AS offered, COALESCE(w.expected, 0) - COALESCE(u.minutes, 0) AS ahead, "
    "COALESCE(w.excused, 0) AS excused, COALESCE(u.minutes, 0) AS unmarked "
    "FROM (VALUES (%s::date), (%s::date)) AS m (monday) "
    "JOIN e ON e.admission_date <= m.monday AND (e.discharge_date >= m.monday + 6 "
    "OR (e.discharge_date IS NULL AND e.planned_end_date >= m.monday + 6)) "
    "LEFT JOIN w ON w.participant_id = e.participant_id AND w.week = m.monday "
    "LEFT JOIN u ON u.participant_id = e.participant_id AND u.week = m.monday "
    "WHERE COALESCE(w.attended, 0) + COALESCE(w.expected, 0) - COALESCE(u.minutes, 0) "
    "< e.track__program__min_weekly_hours * 60) "
    "SELECT b.monday, p.code, b.attended, b.offered, b.ahead, b.excused, b.unmarked "
    "FROM b JOIN participants_participant p ON p.id = b.participant_id "
    "ORDER BY b.monday, p.last_name, p.first_name, b.id"
)


def _old_below(scope, this_monday: dt.date, last_monday: dt.date) -> list[tuple]:
    e_sql, e_params = reports._subquery_sql(reports._below_enrollments(
        scope, this_monday, last_monday + dt.timedelta(days=6)))
    rows = fetchall(_OLD_BELOW.replace("{e}", e_sql), (
        *e_params, [this_monday, last_monday], last_monday, this_monday + dt.timedelta(days=6),
        scope.today, this_monday, last_monday))
    return [(monday, str(code), att, off, round(ahead), exc, round(unmarked))
            for monday, code, att, off, ahead, exc, unmarked in rows]


def test_it_finds_who_is_below_the_minimum_as_the_numeric_sql_did(w):
    # Sessions of odd lengths this week (16-22 Feb), left unmarked: 47.5 minutes on Tuesday
    # for Avery and Casey, 50 minutes 20 seconds on Thursday for Casey.
    tuesday = factories.TherapySessionFactory(
        track=w.t1, site=w.site, session_type__name="Odd group this week", facilitator=w.lead,
        starts_at=dt.datetime(2026, 2, 17, 14, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 2, 17, 14, 47, 30, tzinfo=dt.UTC))
    thursday = factories.TherapySessionFactory(
        track=w.t1, site=w.site, session_type=tuesday.session_type, facilitator=w.lead,
        starts_at=dt.datetime(2026, 2, 19, 14, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 2, 19, 14, 50, 20, tzinfo=dt.UTC))
    Attendance.objects.bulk_create([
        Attendance(session=tuesday, participant=w.avery, status="expected"),
        Attendance(session=tuesday, participant=w.casey, status="expected"),
        Attendance(session=thursday, participant=w.casey, status="expected"),
    ])
    seen = seen_avery = 0
    for today in (dt.date(2026, 2, 18), dt.date(2026, 2, 20), dt.date(2026, 2, 22),
                  dt.date(2026, 2, 24)):
        scope = w.scope(date_to=today, today=today)
        report = reports.attendance_report(scope=scope)
        listed = [(b.week_start, b.participant_code, b.attended_minutes, b.offered_minutes,
                   b.ahead_minutes, b.excused_minutes, b.unmarked_minutes)
                  for b in report.below_last_week + report.below_this_week]
        assert listed == _old_below(scope, report.this_week, report.last_week), today
        seen += sum(1 for row in listed if row[-1])
        # Kim's caseload (Avery): the same rows, Avery's only.
        mine = reports.attendance_report(scope=w.scope(date_to=today, today=today,
                                                       clinician_id=w.clinician.pk))
        assert [(b.week_start, b.participant_code, b.attended_minutes, b.offered_minutes,
                 b.ahead_minutes, b.excused_minutes, b.unmarked_minutes)
                for b in mine.below_last_week + mine.below_this_week] == [
            row for row in listed if row[1] == str(w.avery.code)], today
        seen_avery += sum(1 for row in listed if row[1] == str(w.avery.code))
    assert seen  # unmarked odd minutes were listed
    assert seen_avery  # and Avery was among those listed


def _moved(session, days: int) -> None:
    """`session` moved `days` days, as an admin's correction writes it (a queryset update)."""
    TherapySession.objects.filter(pk=session.pk).update(
        starts_at=F("starts_at") + dt.timedelta(days=days),
        ends_at=F("ends_at") + dt.timedelta(days=days),
        local_date=F("local_date") + dt.timedelta(days=days))


def test_a_caseload_counts_a_session_by_its_day_after_it_moved(w):
    """The caseload's rows are found by their session's day kept on each row: a session moved
    into the range counts there, one moved out of it no longer does, as the live count and the
    old SQL have it (a kept day left behind would lose the first)."""
    mine = w.scope(clinician_id=w.clinician.pk)
    assert _new_rows(mine)["total"][0][4:] == (5, 0, 1, 1)
    ahead = TherapySession.objects.get(local_date=dt.date(2026, 2, 23), track=w.t1)
    excused = TherapySession.objects.get(local_date=dt.date(2026, 2, 16), track=w.t1)
    _moved(ahead, -10)  # Mon 23 Feb -> Fri 13 Feb: held, Avery still unmarked there
    _moved(excused, 9)  # Mon 16 Feb -> Wed 25 Feb: ahead, Avery's excuse with it
    assert _new_rows(mine) == _old_rows(mine)
    assert _new_rows(mine)["total"][0][4:] == (5, 0, 0, 2)
    later = w.scope(clinician_id=w.clinician.pk, date_from=dt.date(2026, 2, 14),
                    date_to=dt.date(2026, 2, 28), today=dt.date(2026, 2, 28))
    assert _new_rows(later) == _old_rows(later)
    # Avery's individual session (17 Feb) present, S6 unmarked, the moved S5 excused.
    assert _new_rows(later)["total"][0][4:] == (1, 0, 1, 1)
    for scope in (mine, later):
        assert sorted(reports._attendance_cells(scope), key=repr) == sorted(
            reports._attendance_cells_live(scope), key=repr), scope
    # Within the caseload's program the moved sessions count by their new day too.
    in_program = w.scope(clinician_id=w.clinician.pk, program_id=w.program.pk)
    later_in_program = w.scope(clinician_id=w.clinician.pk, program_id=w.program.pk,
                               date_from=dt.date(2026, 2, 14), date_to=dt.date(2026, 2, 28),
                               today=dt.date(2026, 2, 28))
    assert _new_rows(in_program)["total"][0][4:] == (5, 0, 0, 2)
    assert _new_rows(later_in_program)["total"][0][4:] == (1, 0, 1, 1)
    for scope in (in_program, later_in_program):
        assert _new_rows(scope) == _old_rows(scope)
        assert sorted(reports._attendance_cells(scope), key=repr) == sorted(
            reports._attendance_cells_live(scope), key=repr), scope
