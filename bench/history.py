"""Months of history and a few loose ends for the bench clinic (bench/clinic.py), never for tests
of the product or production.

    build_clinic(participants=2000, history_weeks=26, loose_ends=True)

History is what a clinic that went live `history_weeks` before the current cohorts began would
hold: for each current track, the earlier twelve-week cohorts of the same timetable, run back to
back up to the current one (each its own cohort track, "Track 3 (from 2025-01-06)"), with their
sessions from the go-live day on, every seat filled by a participant who has left: most completed
the program (with a continuing-care plan stepping down to standard outpatient care), the others
discharged early for non-attendance, against advice, a step down or up (with a plan), a transfer
or an administrative reason, on a day spread by a hash. One seat in twenty of the latest earlier
cohort is a current participant readmitted (the portal and chart personas among them), so their
pages carry an earlier enrollment. Their attendance is marked with the current clinic's mix; the
follow-ups, reminders and authorizations are written by the current clinic's own statements, which
read every attendance row; and each week of a stay its lead clinician opened the chart once (the
access records that the chart page writes). Everything is written by INSERT ... SELECT like the
rest of the clinic, so the database triggers keep their ledgers (hours, tallies, billing) as the
product would; django-auditlog's change entries for the marking are not written (nor are they
for the current clinic's eight marked weeks).

Loose ends are what a lived-in clinic has and the standard clinic lacks: the attendance of one
session in fifty of the last two weeks, and of one row in three hundred, left unmarked; excused
absences asked for in advance (pending for a few sessions ahead, approved for a third of the
excused rows, declined for a few absences); two people waiting for a seat in each track.

Both are spread by hashes of the ids, so every build is the same; all names are invented.
"""
from __future__ import annotations

import datetime as dt
import zlib

# Discharges of the earlier cohorts, out of 100 (crc32 of the enrollment's key).
DISCHARGE_MIX = (
    (80, "completed"), (86, "non_attendance"), (90, "against_advice"), (93, "step_down"),
    (96, "step_up"), (98, "transferred"), (100, "administrative"),
)
CARE_PLAN_LEVEL = {"completed": "1", "step_down": "1", "step_up": "2.5"}
READMITTED_EVERY = 20  # one seat in twenty of the latest earlier cohort
WAITLIST_PER_TRACK = 2
EXCUSE_REASONS = ("Work shift changed.", "Medical appointment.", "Childcare fell through.",
                  "Court date.", "Family event out of town.", "Car broke down.")


def _hash(text: str) -> int:
    return zlib.crc32(text.encode())


def discharge_for(*, key: str, admission: dt.date, planned_end: dt.date) -> tuple[str, str, dt.date]:
    """(status, reason, discharge date) of an earlier cohort's seat, deterministic in `key`."""
    roll = _hash(f"discharge-{key}") % 100
    reason = next(name for limit, name in DISCHARGE_MIX if roll < limit)
    if reason == "completed":
        return "completed", reason, planned_end
    span = (planned_end - admission).days
    # Gone between the second week and the last day, never before the first.
    day = admission + dt.timedelta(days=min(span, 7 + _hash(f"day-{key}") % max(span - 6, 1)))
    return "discharged", reason, day


def add_history_tracks(*, tracks, start: dt.date, weeks: int, history_weeks: int):
    """Earlier cohorts of every current track, back to back before `start`, created after the
    current tracks (so the current ones keep the lowest ids), with copies of their weekly slots.
    Returns [(earlier track, index of its current track, cohorts back)]."""
    from programs.models import Track, WeeklySlot

    cohorts = -(-history_weeks // weeks)  # as many as reach back to the go-live day
    earlier = []
    for k in range(1, cohorts + 1):
        cohort_start = start - dt.timedelta(weeks=weeks * k)
        for t, track in enumerate(tracks):
            old = Track.objects.create(
                program_id=track.program_id, site_id=track.site_id,
                name=f"{track.name} (from {cohort_start:%Y-%m-%d})", mode="cohort",
                start_date=cohort_start, end_date=cohort_start + dt.timedelta(weeks=weeks, days=-1),
                capacity=track.capacity, lead_clinician_id=track.lead_clinician_id,
                scheduled_until=cohort_start + dt.timedelta(weeks=weeks, days=-1))
            WeeklySlot.objects.bulk_create([
                WeeklySlot(track=old, weekday=s.weekday, start_time=s.start_time,
                           duration_minutes=s.duration_minutes, session_type_id=s.session_type_id,
                           title=s.title, facilitator_id=s.facilitator_id, room_id=s.room_id)
                for s in track.weekly_slots.order_by("pk")
            ])
            earlier.append((old, t, k))
    return earlier


def add_history_sessions(*, cursor, track_ids: list[int], window_start: dt.date, zone: str) -> None:
    """The earlier cohorts' sessions from their weekly slots, from the go-live day on (no
    closures in the bench clinic), as schedule_generate would have made them."""
    cursor.execute("""
        INSERT INTO iop_sessions_therapysession
            (kind, title, starts_at, ends_at, local_date, status, cancel_reason, created_at,
             updated_at, facilitator_id, room_id, session_type_id, site_id, track_id,
             weekly_slot_id)
        SELECT st.kind, w.title, (d.day + w.start_time) AT TIME ZONE %(zone)s,
               (d.day + w.start_time) AT TIME ZONE %(zone)s
                   + w.duration_minutes * interval '1 minute',
               d.day::date, 'scheduled', '', now(), now(), w.facilitator_id, w.room_id,
               w.session_type_id, t.site_id, t.id, w.id
        FROM programs_track t
        JOIN programs_weeklyslot w ON w.track_id = t.id
        JOIN programs_sessiontype st ON st.id = w.session_type_id
        CROSS JOIN LATERAL generate_series(greatest(t.start_date, %(window)s::date),
                                           t.end_date, interval '1 day') AS d(day)
        WHERE t.id = ANY(%(tracks)s) AND extract(isodow FROM d.day) - 1 = w.weekday
        ORDER BY t.id, d.day, w.start_time
    """, {"zone": zone, "window": window_start, "tracks": track_ids})


def add_history_people(*, earlier, current_people, leads, per_track: int, first_number: int,
                       now: dt.datetime):
    """Participants of the earlier cohorts (new ones, but for the readmitted seats), their ended
    enrollments, continuing-care plans and consents. Returns the number of enrollments."""
    from participants.models import ContactConsent, ContinuingCarePlan, Enrollment, Participant

    seats, new_people = [], []
    for old, t, k in earlier:
        for s in range(per_track):
            if k == 1 and s % READMITTED_EVERY == 0:
                person = current_people[t * per_track + s]
            else:
                i = first_number + len(new_people)
                person = Participant(
                    record_number=f"B{i:06d}", first_name=f"Pat{i}", last_name=f"Bench{i % 997}",
                    email=f"person{i}@mail.example.com", phone=f"+1555{i:07d}",
                    home_site_id=old.site_id, reminder_channels="both",
                    primary_clinician=leads[t])
                new_people.append(person)
            seats.append((old, person))
    Participant.objects.bulk_create(new_people, batch_size=2000)
    enrollments = []
    for old, person in seats:
        status, reason, day = discharge_for(key=f"{old.pk}-{person.record_number}",
                                            admission=old.start_date, planned_end=old.end_date)
        enrollments.append(Enrollment(
            participant=person, track=old, status=status, admission_date=old.start_date,
            planned_end_date=old.end_date, discharge_date=day, discharge_reason=reason))
    Enrollment.objects.bulk_create(enrollments, batch_size=2000)
    ContinuingCarePlan.objects.bulk_create([
        ContinuingCarePlan(enrollment=e, step_down_level=CARE_PLAN_LEVEL[e.discharge_reason],
                           step_down_provider="Riverside Outpatient Services (invented)",
                           support_groups="Mutual-help group, twice a week.",
                           created_by_id=e.track.lead_clinician_id)
        for e in enrollments if e.discharge_reason in CARE_PLAN_LEVEL
    ], batch_size=2000)
    ContactConsent.objects.bulk_create([
        ContactConsent(participant=p, channel=channel, given_at=now, source="intake")
        for p in new_people for channel in ("email", "sms")
    ], batch_size=4000)
    return len(new_people), len(enrollments)


def add_history_attendance(*, cursor) -> None:
    """Every ended enrollment was expected at its track's sessions up to its discharge; all of
    it is marked, with the current clinic's mix (bench/clinic.py)."""
    cursor.execute("""
        INSERT INTO iop_sessions_attendance
            (session_id, participant_id, enrollment_id, status, minutes_attended, note,
             marked_by_id, marked_at, confirmation)
        SELECT s.id, e.participant_id, e.id, m.status,
               CASE m.status WHEN 'late' THEN 45 WHEN 'left_early' THEN 30 END, '',
               t.lead_clinician_id, s.ends_at, ''
        FROM iop_sessions_therapysession s
        JOIN participants_enrollment e ON e.track_id = s.track_id
             AND e.status = ANY(%(ended)s)
             AND s.local_date BETWEEN e.admission_date AND e.discharge_date
        JOIN programs_track t ON t.id = s.track_id
        CROSS JOIN LATERAL (SELECT
            CASE WHEN h < 80 THEN 'present' WHEN h < 85 THEN 'late' WHEN h < 92 THEN 'absent'
                 WHEN h < 96 THEN 'excused' ELSE 'left_early' END AS status
            FROM (SELECT abs(hashtext(s.id || '-' || e.participant_id)) %% 100 AS h) r) m
    """, {"ended": ["completed", "discharged"]})


def add_history_access(*, cursor, window_start: dt.date, zone: str) -> None:
    """Each week of an earlier stay, the lead clinician opened the chart once (Monday 8:30)."""
    from django.contrib.contenttypes.models import ContentType

    from participants.models import Participant

    cursor.execute("""
        INSERT INTO audit_accessevent
            (at, actor_id, participant_id, content_type_id, object_pk, object_repr, what, path,
             remote_addr, details)
        SELECT (w.day + time '08:30') AT TIME ZONE %(zone)s, t.lead_clinician_id, p.id,
               %(content_type)s, p.id::text,
               left(p.first_name || ' ' || p.last_name || ' (' || p.record_number || ')', 200),
               'chart', '/participants/' || p.code || '/', ('10.0.0.' || (1 + t.id %% 200))::inet,
               '{}'::jsonb
        FROM participants_enrollment e
        JOIN participants_participant p ON p.id = e.participant_id
        JOIN programs_track t ON t.id = e.track_id
        CROSS JOIN LATERAL generate_series(greatest(e.admission_date, %(window)s::date),
                                           e.discharge_date, interval '7 days') AS w(day)
        WHERE e.status IN ('completed', 'discharged')
        ORDER BY 1, p.id
    """, {"zone": zone, "window": window_start,
          "content_type": ContentType.objects.get_for_model(Participant).pk})


def unmark_some(*, cursor, today: dt.date) -> None:
    """Attendance nobody marked on the last two weeks' days: every row of one session in fifty,
    and one row in three hundred of the others (before follow-ups are raised from absences)."""
    cursor.execute("""
        UPDATE iop_sessions_attendance a
        SET status = 'expected', minutes_attended = NULL, marked_by_id = NULL, marked_at = NULL
        FROM iop_sessions_therapysession s
        WHERE s.id = a.session_id AND s.local_date >= %(since)s AND s.local_date < %(today)s
          AND a.status <> 'expected'
          AND (abs(hashtext('unmarked-' || s.id)) %% 50 = 0
               OR abs(hashtext('unmarked-' || a.id)) %% 300 = 0)
    """, {"since": today - dt.timedelta(days=14), "today": today})


def add_excuse_requests(*, cursor, today: dt.date, now: dt.datetime) -> None:
    """Excused-absence requests: pending for one row in four hundred ahead, approved for a third
    of the excused rows, declined for one absence in twenty-five (asked the day before)."""
    cursor.execute("""
        INSERT INTO iop_sessions_excusedabsencerequest
            (code, reason, status, requested_at, decided_at, decision_note, attendance_id,
             decided_by_id, requested_by_id)
        SELECT md5('excuse-' || a.id)::uuid,
               (%(reasons)s::text[])[1 + abs(hashtext('reason-' || a.id)) %% %(n)s],
               x.status,
               CASE x.status WHEN 'pending'
                    THEN least(%(now)s, s.starts_at - interval '2 days')
                    ELSE s.starts_at - interval '3 days' END,
               CASE x.status WHEN 'pending' THEN NULL ELSE s.starts_at - interval '2 days' END,
               CASE x.status WHEN 'declined' THEN 'Please call us to talk it over.' ELSE '' END,
               a.id,
               CASE x.status WHEN 'pending' THEN NULL ELSE t.lead_clinician_id END, NULL
        FROM iop_sessions_attendance a
        JOIN iop_sessions_therapysession s ON s.id = a.session_id
        JOIN programs_track t ON t.id = s.track_id
        CROSS JOIN LATERAL (SELECT CASE
            WHEN a.status = 'expected' AND s.local_date >= %(today)s
                 AND abs(hashtext('excuse-' || a.id)) %% 400 = 0 THEN 'pending'
            WHEN a.status = 'excused' AND abs(hashtext('excuse-' || a.id)) %% 3 = 0
                 THEN 'approved'
            WHEN a.status = 'absent' AND abs(hashtext('excuse-' || a.id)) %% 25 = 0
                 THEN 'declined' END AS status) x
        WHERE x.status IS NOT NULL
        ORDER BY a.id
    """, {"reasons": list(EXCUSE_REASONS), "n": len(EXCUSE_REASONS), "today": today, "now": now})


def add_waitlist(*, tracks, leads, first_number: int, today: dt.date, now: dt.datetime) -> int:
    """Two people waiting for a seat in each (full) current track, the earliest for ten days."""
    from participants.models import ContactConsent, Enrollment, Participant

    people, enrollments = [], []
    for t, track in enumerate(tracks):
        for w in range(WAITLIST_PER_TRACK):
            i = first_number + len(people)
            person = Participant(
                record_number=f"B{i:06d}", first_name=f"Pat{i}", last_name=f"Bench{i % 997}",
                email=f"person{i}@mail.example.com", phone=f"+1555{i:07d}",
                home_site_id=track.site_id, reminder_channels="both", primary_clinician=leads[t])
            people.append(person)
            enrollments.append(Enrollment(
                participant=person, track=track, status="waitlisted",
                admission_date=today, planned_end_date=max(today, track.end_date),
                waitlisted_at=now - dt.timedelta(days=10 - 3 * w)))
    Participant.objects.bulk_create(people)
    Enrollment.objects.bulk_create(enrollments)
    ContactConsent.objects.bulk_create([
        ContactConsent(participant=p, channel=channel, given_at=now, source="intake")
        for p in people for channel in ("email", "sms")
    ])
    return len(people)
