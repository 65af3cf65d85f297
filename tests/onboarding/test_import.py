"""The census import: the dry run reports every error on its row and writes nothing; a clean
file commits through intake's services; CSV and XLSX read alike."""
import datetime as dt

import pytest
from django.core.management import call_command

from audit.models import AccessEvent
from onboarding.columns import ATTENDANCE, PARTICIPANTS
from onboarding.services import census_check, census_commit
from participants.models import ContactConsent, Enrollment, Participant
from sessions.models import Attendance, FollowUp
from tests import factories

from .conftest import attendance_row, census_csv, census_xlsx, participant_row

pytestmark = pytest.mark.django_db


def errors_by_row(result) -> dict[tuple[str, int], set[str]]:
    found: dict[tuple[str, int], set[str]] = {}
    for row in result.rows:
        for column, _message in row.errors:
            found.setdefault((row.sheet, row.line), set()).add(column)
    return found


@pytest.fixture
def file_with_every_error(track, past_mondays, site):
    factories.ParticipantFactory(record_number="TAKEN-1", home_site=site)
    start = past_mondays[0].isoformat()
    people = [
        participant_row("A-1", admission_date=start),                          # row 2: clean
        participant_row("A-2", admission_date=start, track="Morning group"),   # 3: unknown track
        participant_row("a-1", admission_date=start),                          # 4: dup in file
        participant_row("TAKEN-1", admission_date=start),                      # 5: dup in DB
        participant_row("A-3", admission_date="31/31/2026"),                   # 6: bad date
        participant_row("A-4", admission_date=start, mobile_phone="12"),       # 7: bad phone
        participant_row("A-5", admission_date=start),                          # 8: clean, seat 2
        participant_row("A-6", admission_date=start),                          # 9: clean, seat 3
        participant_row("A-7", admission_date=start),                          # 10: over capacity
    ]
    visits = [
        attendance_row("A-1", past_mondays[1]),                                # row 2: clean
        attendance_row("A-1", past_mondays[1] + dt.timedelta(days=1)),         # 3: no session
        attendance_row("A-5", past_mondays[2], attendance_status="late"),      # 4: no minutes
        attendance_row("A-5", past_mondays[3], attendance_status="sometimes"),  # 5: bad status
    ]
    return people, visits


def test_it_reports_every_error_on_its_row_and_writes_nothing(director, file_with_every_error):
    people, visits = file_with_every_error
    before = (Participant.objects.count(), Enrollment.objects.count(), Attendance.objects.count(),
              ContactConsent.objects.count())

    result = census_check(content=census_xlsx(people, visits), file_name="census.xlsx",
                          by=director)

    assert errors_by_row(result) == {
        (PARTICIPANTS, 3): {"track"},
        (PARTICIPANTS, 4): {"record_number"},
        (PARTICIPANTS, 5): {"record_number"},
        (PARTICIPANTS, 6): {"admission_date"},
        (PARTICIPANTS, 7): {"mobile_phone"},
        (PARTICIPANTS, 10): {"track"},
        (ATTENDANCE, 3): {"session_date"},
        (ATTENDANCE, 4): {"minutes"},  # the attendance service's rule, found by the rehearsal
        (ATTENDANCE, 5): {"attendance_status"},
    }
    messages = {(r.sheet, r.line): " ".join(m for _c, m in r.errors) for r in result.rows}
    assert "Morning group" in messages[(PARTICIPANTS, 3)]
    assert "row 2" in messages[(PARTICIPANTS, 4)]
    assert "already belongs" in messages[(PARTICIPANTS, 5)]
    assert "full" in messages[(PARTICIPANTS, 10)]
    assert "12" in messages[(PARTICIPANTS, 7)]
    clean = next(r for r in result.rows if (r.sheet, r.line) == (PARTICIPANTS, 2))
    assert any("Create participant" in a for a in clean.actions)
    assert any("Enroll in Evening group" in a for a in clean.actions)
    assert not result.committed
    after = (Participant.objects.count(), Enrollment.objects.count(), Attendance.objects.count(),
             ContactConsent.objects.count())
    assert after == before


def test_it_commits_nothing_from_a_file_with_an_error(director, file_with_every_error):
    people, visits = file_with_every_error
    before = Participant.objects.count()

    result = census_commit(content=census_xlsx(people, visits), file_name="census.xlsx",
                           by=director)

    assert not result.committed and result.error_count == 9
    assert Participant.objects.count() == before
    assert not Participant.objects.filter(record_number="A-1").exists()


def clean_file(past_mondays):
    start = past_mondays[0].isoformat()
    people = [
        participant_row("C-1", admission_date=start, email_consent="yes"),
        participant_row("C-2", admission_date=start, enrollment_status="on hold",
                        mobile_phone="", sms_consent="no"),
        participant_row("C-3", admission_date=past_mondays[-1].isoformat(),
                        enrollment_status="referred"),
        participant_row("C-4", track="", admission_date="", enrollment_status=""),
    ]
    visits = [
        attendance_row("C-1", past_mondays[0]),
        attendance_row("C-1", past_mondays[1], attendance_status="late", minutes="150"),
        attendance_row("C-1", past_mondays[2], attendance_status="absent"),
        attendance_row("C-2", past_mondays[0], attendance_status="excused", session_time=""),
    ]
    return people, visits


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_it_imports_a_clean_file_through_intakes_services(director, track, past_mondays,
                                                          file_format, replans):
    people, visits = clean_file(past_mondays)
    if file_format == "xlsx":
        result = census_commit(content=census_xlsx(people, visits), file_name="c.xlsx",
                               by=director)
    else:
        result = census_commit(content=census_csv(PARTICIPANTS, people), file_name="p.csv",
                               by=director)
        assert result.committed, result.as_report()
        result = census_commit(content=census_csv(ATTENDANCE, visits), file_name="a.csv",
                               by=director)

    assert result.committed, result.as_report()
    one = Participant.objects.get(record_number="C-1")
    assert one.phone == "+12015550123"
    assert one.reminder_channels == "both"
    assert set(one.consents.values_list("channel", "source")) == {("sms", "intake"),
                                                                   ("email", "intake")}
    statuses = dict(Enrollment.objects.values_list("participant__record_number", "status"))
    assert statuses == {"C-1": "active", "C-2": "on_hold", "C-3": "referred"}
    marks = dict(Attendance.objects.filter(participant=one, session__local_date__in=past_mondays[:3])
                 .values_list("session__local_date", "status"))
    assert marks == {past_mondays[0]: "present", past_mondays[1]: "late",
                     past_mondays[2]: "absent"}
    assert Attendance.objects.get(participant=one, session__local_date=past_mondays[1]) \
        .minutes_attended == 150
    # The rules of marking apply: the absence raised its follow-up.
    assert FollowUp.objects.filter(participant=one, missed_on=past_mondays[2]).exists()
    # Enrollment made the participant expected at the sessions still ahead.
    assert Attendance.objects.filter(participant=one, status="expected").exists()
    # The intake's audit trail holds the new participant.
    from auditlog.models import LogEntry
    assert LogEntry.objects.filter(object_repr__contains="C-1").exists()
    assert replans, "reminders are asked to re-plan, as after intake"


def test_it_checks_attendance_of_participants_already_imported(director, track, past_mondays):
    people, _visits = clean_file(past_mondays)
    assert census_commit(content=census_csv(PARTICIPANTS, people), file_name="p.csv",
                         by=director).committed
    visits = [attendance_row("C-1", past_mondays[0]), attendance_row("C-9", past_mondays[0]),
              attendance_row("C-3", past_mondays[0])]

    result = census_check(content=census_csv(ATTENDANCE, visits), file_name="a.csv", by=director)

    assert errors_by_row(result) == {(ATTENDANCE, 3): {"record_number"},
                                     (ATTENDANCE, 4): {"track"}}  # referred: in no track yet


def test_it_refuses_an_unreadable_or_unknown_file(director, track):
    assert census_check(content=b"PK\x03\x04garbage", file_name="c.xlsx", by=director) \
        .file_errors
    result = census_check(content=b"name,age\nA,3\n", file_name="c.csv", by=director)
    assert "first_name" in result.file_errors[0]
    assert census_check(content=b"x", file_name="c.pdf", by=director).file_errors


def test_it_sees_only_the_directors_sites(director, track, other_site, past_mondays):
    factories.TrackFactory(site=other_site, name="Elsewhere", mode="rolling",
                           start_date=past_mondays[0])
    people = [participant_row("S-1", track="Elsewhere", admission_date=past_mondays[0]),
              participant_row("S-2", track="", enrollment_status="", site=other_site.name)]

    result = census_check(content=census_csv(PARTICIPANTS, people), file_name="p.csv",
                          by=director)

    assert errors_by_row(result) == {(PARTICIPANTS, 2): {"track"}, (PARTICIPANTS, 3): {"site"}}


def test_the_command_dry_runs_and_commits(director, track, past_mondays, tmp_path, capsys):
    people, visits = clean_file(past_mondays)
    path = tmp_path / "census.xlsx"
    path.write_bytes(census_xlsx(people, visits))

    call_command("import_census", str(path), user=director.username)
    assert "would import 4 participants" in capsys.readouterr().out
    assert not Participant.objects.filter(record_number="C-1").exists()

    call_command("import_census", str(path), "--commit", user=director.username)
    assert "Imported 4 participants" in capsys.readouterr().out
    assert Participant.objects.filter(record_number="C-1").exists()
    assert AccessEvent.objects.filter(what="census import: imported", actor=director).exists()

    bad = tmp_path / "bad.csv"
    bad.write_bytes(census_csv(PARTICIPANTS, [participant_row("C-1")]))
    with pytest.raises(SystemExit):
        call_command("import_census", str(bad), "--commit", user=director.username)
    assert "already belongs" in capsys.readouterr().err


def test_it_imports_past_enrollments_and_discharges_them(director, track, past_mondays):
    track.program.min_attendance_percent = 50
    track.program.save()
    start = past_mondays[0].isoformat()
    people = [
        participant_row("D-1", admission_date=start, enrollment_status="discharged",
                        discharge_date=past_mondays[2].isoformat(), discharge_reason="step down"),
        participant_row("D-2", admission_date=start, enrollment_status="completed",
                        discharge_date=past_mondays[1].isoformat()),
        participant_row("D-3", admission_date=start, enrollment_status="completed",
                        discharge_date=past_mondays[1].isoformat()),
        participant_row("D-4", admission_date=start, enrollment_status="active",
                        discharge_date=past_mondays[1].isoformat()),
        participant_row("D-5", admission_date=start, enrollment_status="discharged"),
    ]
    visits = [attendance_row("D-1", past_mondays[0]),
              attendance_row("D-2", past_mondays[0]), attendance_row("D-2", past_mondays[1]),
              attendance_row("D-3", past_mondays[0], attendance_status="absent"),
              attendance_row("D-3", past_mondays[1], attendance_status="absent")]

    result = census_check(content=census_xlsx(people, visits), file_name="c.xlsx", by=director)

    assert errors_by_row(result) == {
        (PARTICIPANTS, 4): {"enrollment_status"},  # completing needs 50 % attended: the service
        (PARTICIPANTS, 5): {"discharge_date"},  # an active enrollment has no discharge
        (PARTICIPANTS, 6): {"discharge_date"},  # discharged, but when?
    }
    result = census_commit(content=census_xlsx(people[:2], visits[:3]), file_name="c.xlsx",
                           by=director)
    assert result.committed, result.as_report()
    ended = {e.participant.record_number: e for e in Enrollment.objects.select_related(
        "participant")}
    assert ended["D-1"].status == "discharged" and ended["D-1"].discharge_reason == "step_down"
    assert ended["D-2"].status == "completed" and ended["D-2"].discharge_date == past_mondays[1]
    # Past enrollments took their seat only for a moment: the track's seats are all free.
    assert not Enrollment.objects.filter(track=track, status__in=["active", "on_hold"]).exists()


def test_committing_costs_the_same_queries_for_3_or_30_participants(
    director, track, past_mondays, django_assert_max_num_queries
):
    """Each step runs once per file, not once per row: create, consent, enroll, expect, mark,
    follow up and audit in bulk."""
    track.capacity = 40
    track.save()
    start = past_mondays[0].isoformat()
    counts = []
    for size, prefix in ((3, "Q"), (30, "R")):
        people = [participant_row(f"{prefix}-{n}", admission_date=start,
                                  email_consent="yes") for n in range(size)]
        visits = [attendance_row(f"{prefix}-{n}", day,
                                 attendance_status=("present", "absent", "late")[k],
                                 minutes="150" if k == 2 else "")
                  for n in range(size) for k, day in enumerate(past_mondays[1:4])]
        content = census_xlsx(people, visits)
        with django_assert_max_num_queries(72) as captured:
            result = census_commit(content=content, file_name="c.xlsx", by=director)
        assert result.committed, result.as_report()
        counts.append(len(captured))
    assert counts[1] <= counts[0] + 2, counts  # ten times the rows, no more queries
    assert Attendance.objects.filter(participant__record_number__startswith="R-",
                                     status="absent").count() == 30


def test_it_imports_more_past_enrollments_than_the_track_has_seats(director, track,
                                                                   past_mondays):
    start = past_mondays[0].isoformat()
    people = [participant_row(f"P-{n}", admission_date=start, enrollment_status="discharged",
                              discharge_date=past_mondays[2].isoformat())
              for n in range(7)]  # the track has 3 seats: they go in waves of 3, 3 and 1
    visits = [attendance_row(f"P-{n}", past_mondays[1]) for n in range(7)]

    result = census_commit(content=census_xlsx(people, visits), file_name="c.xlsx",
                           by=director)

    assert result.committed, result.as_report()
    assert Enrollment.objects.filter(track=track, status="discharged").count() == 7
    assert Attendance.objects.filter(session__local_date=past_mondays[1],
                                     status="present").count() == 7
    assert not Enrollment.objects.filter(track=track, status__in=["active", "on_hold"]).exists()


@pytest.mark.postgres
def test_it_leaves_the_planner_statistics_of_what_it_imported(director, track, past_mondays):
    """The work queued on commit (re-planning, authorization usage) plans its joins on the
    tables' statistics: an import leaves them counting what it brought in, not an empty clinic."""
    from django.db import connection

    start = past_mondays[0].isoformat()
    people = [participant_row(f"S-{n}", admission_date=start) for n in range(3)]
    visits = [attendance_row(f"S-{n}", past_mondays[1]) for n in range(3)]

    result = census_commit(content=census_xlsx(people, visits), file_name="c.xlsx",
                           by=director)

    assert result.committed, result.as_report()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s",
                       [Attendance._meta.db_table])
        [(estimated,)] = cursor.fetchall()
    assert estimated == Attendance.objects.count() > 0
