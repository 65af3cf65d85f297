"""Builds an invented clinic at a chosen size for the benchmarks (never for tests or production).

    build_clinic(participants=2000)   # 2 sites, 20 tracks of 100, 12 weeks, ~360,000 attendances

The program, sites, rooms, session types, tracks and weekly slots go through the project's
services and models; the schedule through `schedule_generate` (cohort tracks that started eight
weeks ago and run twelve); participants, enrollments and consents are bulk-inserted; attendance,
follow-ups and reminders are written by INSERT ... SELECT in PostgreSQL, because creating
360,000 audited rows one by one would take the better part of an hour. Attendance of the eight
weeks already past is marked (mostly present, some late, absent, excused, left early, spread by
a hash of the ids so every run is the same); each absence has its follow-up (open for the last
week, resolved before); every visit day has a day-before email and a same-day SMS reminder (sent
in the past, pending ahead, a few failed); nine in ten enrollments have an approved payer
authorization (see `add_authorizations`). No name or number in it belongs to anyone.

`history_weeks` adds the earlier cohorts of a clinic that went live that many weeks before the
current cohorts began, and `loose_ends` the unmarked rows, excuse requests and waitlist a lived-in
clinic has (bench/history.py); both are off by default, so the standard clinic stays the one
every earlier figure was measured on.

The clinic lives at one moment (`clinic_clock`): Wednesday of the week it is built, 11 am at its
sites, between the day's second session and its third. It is built at that moment and recorded
with it, and the benchmarks pin their processes' clocks to it when they measure it (`pin_clock`,
and bench/settings.py for the servers), so a page shows the same day whenever it is run: Today
at 7 pm, every session of the day over and none marked, or on the next day or a Sunday, is
another page than Today at 11 am.
"""
from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from dataclasses import dataclass, replace

ZONE = "America/New_York"
SITES = 2
TRACKS = 20
WEEKS = 12
WEEKS_PAST = 8
# Three one-hour sessions on each weekday: 15 weekly slots a track, 15 hours a week.
SLOT_TIMES = (dt.time(9, 0), dt.time(10, 15), dt.time(11, 30))
WEEKDAYS = (0, 1, 2, 3, 4)
PASSWORD = "bench-password-not-secret"  # noqa: S105 (an invented clinic on a scratch database)


@dataclass
class Clinic:
    """What the benchmarks need to find their way around the built clinic."""

    participants: int
    site_ids: list[int]
    track_ids: list[int]
    clinician_username: str
    admin_username: str
    portal_username: str
    portal_participant_code: str
    feed_token: str
    large_session_id: int
    chart_participant_code: str
    seconds: float
    # The moment the clinic lives at (`clinic_clock`), or None for a clinic built before it
    # was recorded (its pages then run at the machine's time).
    now: dt.datetime | None = None


# The clinic's moment: its week's Wednesday at this time at its sites (SLOT_TIMES: the 9:00
# session over, the 10:15 one on, the 11:30 one ahead).
CLOCK_WEEKDAY = 2
CLOCK_TIME = dt.time(11, 0)
# BENCH_NOW in a server's environment (bench/settings.py): the moment, in ISO 8601.
CLOCK_ENV = "BENCH_NOW"


def clinic_clock(zone: str = ZONE, *, now: dt.datetime | None = None) -> dt.datetime:
    """The moment a clinic built now (or at `now`) lives at: its week's Wednesday, 11 am."""
    tz = zoneinfo.ZoneInfo(zone)
    today = (now or dt.datetime.now(dt.UTC)).astimezone(tz).date()
    day = _monday(today) + dt.timedelta(days=CLOCK_WEEKDAY)
    return dt.datetime.combine(day, CLOCK_TIME, tzinfo=tz)


def pin_clock(clinic: Clinic) -> dict[str, str]:
    """Move this process's clock to the clinic's moment, ticking on from it (time-machine);
    the environment a server process needs to do the same (bench/settings.py). A clinic with
    no recorded moment leaves the clock alone (and says so)."""
    if clinic.now is None:
        print("  clinic: built before its moment was recorded; its pages run at the machine's "
              "time (rebuild it to pin them)", flush=True)
        return {}
    import time_machine

    time_machine.travel(clinic.now, tick=True).start()
    return {CLOCK_ENV: clinic.now.isoformat()}


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def build_clinic(*, participants: int = 2000, zone: str = ZONE, quiet: bool = False,
                 history_weeks: int = 0, loose_ends: bool = False) -> Clinic:
    """Build the clinic in the current (empty, migrated) database at its moment
    (`clinic_clock`, the clock stopped there) and record the moment; returns where things
    are."""
    import time_machine
    from django.db import connection

    now = clinic_clock(zone)
    with time_machine.travel(now, tick=False):
        clinic = _build_clinic(participants=participants, zone=zone, quiet=quiet,
                               history_weeks=history_weeks, loose_ends=loose_ends)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_clock (now timestamptz NOT NULL)")
        cursor.execute("DELETE FROM bench_clock")
        cursor.execute("INSERT INTO bench_clock (now) VALUES (%s)", [now])
    return replace(clinic, now=now)


def _build_clinic(*, participants: int, zone: str, quiet: bool, history_weeks: int,
                  loose_ends: bool) -> Clinic:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.roles import Role
    from participants.models import ContactConsent, Enrollment, Participant
    from participants.portal_accounts import calendar_token_regenerate
    from programs.models import Program, Room, SessionType, Site, Track, WeeklySlot
    from reminders.models import ReminderPolicy
    from sessions.models import Attendance, TherapySession
    from sessions.services.schedule import schedule_generate

    from bench import history

    if history_weeks < 0:
        raise ValueError("history_weeks cannot be negative")
    started = time.perf_counter()
    tz = zoneinfo.ZoneInfo(zone)
    today = timezone.now().astimezone(tz).date()
    start = _monday(today) - dt.timedelta(weeks=WEEKS_PAST)
    end = start + dt.timedelta(weeks=WEEKS, days=-1)
    per_track = max(participants // TRACKS, 1)
    User = get_user_model()

    def log(message: str) -> None:
        if not quiet:
            print(f"  clinic: {message} ({time.perf_counter() - started:5.1f}s)", flush=True)

    admin = User.objects.create_superuser(username="bench-admin", email="admin@bench.example",
                                          password=PASSWORD, first_name="Ada", last_name="Admin")
    TOTPDevice.objects.create(user=admin, name="Authenticator app", confirmed=True)
    clinician_group, _ = Group.objects.get_or_create(name=Role.CLINICIAN.label)
    program = Program.objects.create(name="Adult IOP (bench)", duration_weeks=WEEKS,
                                     min_weekly_hours=9)
    types = [
        SessionType.objects.create(name="Process group (bench)", kind="group",
                                   default_duration_minutes=60, service_code="H0015"),
        SessionType.objects.create(name="Coping skills workshop (bench)", kind="workshop",
                                   default_duration_minutes=60, service_code="H0015"),
    ]
    sites, tracks, leads = [], [], []
    for s in range(SITES):
        site = Site.objects.create(name=f"Bench site {s + 1}",
                                   public_alias=f"Maple Street Health Center {s + 1}",
                                   time_zone=zone, phone=f"+1555555{s:04d}",
                                   address=f"{s + 1} Elm Road")
        ReminderPolicy.objects.get_or_create(site=site)
        sites.append(site)
    for t in range(TRACKS):
        site = sites[t % SITES]
        lead = User.objects.create_user(username=f"bench-clinician-{t}", password=PASSWORD,
                                        first_name=f"Clin{t}", last_name="Bench",
                                        email=f"clinician{t}@bench.example")
        lead.groups.add(clinician_group)
        site.staff.add(lead)
        room = Room.objects.create(site=site, name=f"Room {t}", capacity=per_track + 10)
        track = Track.objects.create(program=program, site=site, name=f"Track {t + 1}",
                                     mode="cohort", start_date=start, end_date=end,
                                     capacity=per_track, lead_clinician=lead)
        WeeklySlot.objects.bulk_create([
            WeeklySlot(track=track, weekday=weekday, start_time=at, duration_minutes=60,
                       session_type=types[i % 2], title=f"Topic {i + 1}", facilitator=lead,
                       room=room)
            for weekday in WEEKDAYS for i, at in enumerate(SLOT_TIMES)
        ])
        tracks.append(track)
        leads.append(lead)
    for track in tracks:
        schedule_generate(track=track)
    log(f"{TherapySession.objects.count()} sessions scheduled by schedule_generate")
    earlier = []
    window_start = start - dt.timedelta(weeks=history_weeks)
    if history_weeks:
        earlier = history.add_history_tracks(tracks=tracks, start=start, weeks=WEEKS,
                                             history_weeks=history_weeks)
        with connection.cursor() as cursor:
            history.add_history_sessions(cursor=cursor, track_ids=[old.pk for old, _, _ in earlier],
                                         window_start=window_start, zone=zone)
        log(f"{len(earlier)} earlier cohorts from {window_start} scheduled")

    people = Participant.objects.bulk_create([
        Participant(record_number=f"B{i:06d}", first_name=f"Pat{i}", last_name=f"Bench{i % 997}",
                    email=f"person{i}@mail.example.com", phone=f"+1555{i:07d}",
                    home_site=tracks[i % TRACKS].site, reminder_channels="both",
                    primary_clinician=leads[i % TRACKS])
        for i in range(per_track * TRACKS)
    ], batch_size=2000)
    Enrollment.objects.bulk_create([
        Enrollment(participant=p, track=tracks[i % TRACKS], status="active",
                   admission_date=start, planned_end_date=end)
        for i, p in enumerate(people)
    ], batch_size=2000)
    now = timezone.now()
    ContactConsent.objects.bulk_create([
        ContactConsent(participant=p, channel=channel, given_at=now, source="intake")
        for p in people for channel in ("email", "sms")
    ], batch_size=4000)
    log(f"{len(people)} participants enrolled")
    next_number = len(people)
    if earlier:
        added, ended = history.add_history_people(
            earlier=earlier, current_people=people, leads=leads, per_track=per_track,
            first_number=next_number, now=now)
        next_number += added
        log(f"{added} earlier participants and {ended} ended enrollments")
    if loose_ends:
        next_number += history.add_waitlist(tracks=tracks, leads=leads, first_number=next_number,
                                            today=today, now=now)

    with transaction.atomic(), connection.cursor() as cursor:
        # Everyone is expected at every session of their track; the past is marked.
        cursor.execute("""
            INSERT INTO iop_sessions_attendance
                (session_id, participant_id, enrollment_id, status, minutes_attended, note,
                 marked_by_id, marked_at, confirmation)
            SELECT s.id, e.participant_id, e.id, m.status,
                   CASE m.status WHEN 'late' THEN 45 WHEN 'left_early' THEN 30 END, '',
                   CASE WHEN m.status <> 'expected' THEN t.lead_clinician_id END,
                   CASE WHEN m.status <> 'expected' THEN s.ends_at END, ''
            FROM iop_sessions_therapysession s
            JOIN participants_enrollment e ON e.track_id = s.track_id AND e.status = 'active'
            JOIN programs_track t ON t.id = s.track_id
            CROSS JOIN LATERAL (SELECT CASE
                WHEN s.local_date >= %(today)s THEN 'expected'
                ELSE (CASE WHEN h < 80 THEN 'present' WHEN h < 85 THEN 'late'
                           WHEN h < 92 THEN 'absent' WHEN h < 96 THEN 'excused'
                           ELSE 'left_early' END) END AS status
                FROM (SELECT abs(hashtext(s.id || '-' || e.participant_id)) %% 100 AS h) r) m
        """, {"today": today})
        if earlier:
            history.add_history_attendance(cursor=cursor)
        if loose_ends:
            history.unmark_some(cursor=cursor, today=today)
        cursor.execute("""
            INSERT INTO iop_sessions_followup
                (participant_id, enrollment_id, kind, assignee_id, status, outcome_note,
                 attendance_id, session_id, created_at, created_by_id, resolved_at,
                 resolved_by_id)
            SELECT a.participant_id, a.enrollment_id, 'unexcused_absence', t.lead_clinician_id,
                   CASE WHEN s.local_date >= %(recent)s THEN 'open' ELSE 'resolved' END,
                   CASE WHEN s.local_date >= %(recent)s THEN '' ELSE 'Reached by phone.' END,
                   a.id, s.id, s.ends_at, NULL,
                   CASE WHEN s.local_date >= %(recent)s THEN NULL
                        ELSE s.ends_at + interval '1 day' END,
                   CASE WHEN s.local_date >= %(recent)s THEN NULL ELSE t.lead_clinician_id END
            FROM iop_sessions_attendance a
            JOIN iop_sessions_therapysession s ON s.id = a.session_id
            JOIN programs_track t ON t.id = s.track_id
            WHERE a.status = 'absent'
        """, {"recent": today - dt.timedelta(days=7)})
        # Reminders: one day-before email and one same-day SMS per visit day.
        cursor.execute("""
            INSERT INTO reminders_reminder
                (participant_id, site_id, visit_date, kind, channel, status, reason, detail,
                 due_at, send_before, attempts, claimed_at, sent_at, provider_message_id, body,
                 created_at, updated_at, asks_reply)
            SELECT v.participant_id, v.site_id, v.local_date, k.kind, k.channel,
                   CASE WHEN v.first_start > %(now)s THEN 'pending'
                        WHEN abs(hashtext(v.participant_id || k.kind || v.local_date)) %% 100 = 0
                        THEN 'failed' ELSE 'sent' END,
                   CASE WHEN v.first_start <= %(now)s AND
                        abs(hashtext(v.participant_id || k.kind || v.local_date)) %% 100 = 0
                        THEN 'permanent_error' ELSE '' END,
                   '', v.first_start - k.ahead, v.first_start,
                   CASE WHEN v.first_start > %(now)s THEN 0 ELSE 1 END, NULL,
                   CASE WHEN v.first_start > %(now)s THEN NULL ELSE v.first_start - k.ahead END,
                   '', '', %(now)s, %(now)s, false
            FROM (SELECT a.participant_id, s.site_id, s.local_date, min(s.starts_at) AS first_start
                  FROM iop_sessions_attendance a
                  JOIN iop_sessions_therapysession s ON s.id = a.session_id
                  GROUP BY a.participant_id, s.site_id, s.local_date) v
            CROSS JOIN (VALUES ('day_before', 'email', interval '24 hours'),
                               ('same_day', 'sms', interval '2 hours')) AS k(kind, channel, ahead)
        """, {"now": now})
        if loose_ends:
            history.add_excuse_requests(cursor=cursor, today=today, now=now)
        if earlier:
            history.add_history_access(cursor=cursor, window_start=window_start, zone=zone)
        # Statistics first: the usage refresh in add_authorizations plans its joins on them
        # (without, it took minutes at 2,000 participants instead of seconds).
        cursor.execute("ANALYZE")
        add_authorizations(cursor=cursor, today=today, ended=bool(earlier))
        cursor.execute("ANALYZE")
    log(f"{Attendance.objects.count()} attendance rows, follow-ups, reminders and "
        "authorizations inserted")

    # A production database's autovacuum would have vacuumed these tables long since; this
    # bench PostgreSQL may run without it. Without a visibility map no index-only scan can skip
    # the heap, so every page would be measured as on the morning after a bulk import.
    if not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        log("vacuumed and analyzed")

    portal_person = people[0]
    portal_user = User.objects.create_user(username="bench-portal", password=PASSWORD,
                                           first_name=portal_person.first_name)
    Participant.objects.filter(pk=portal_person.pk).update(user=portal_user)
    portal_person.user = portal_user
    feed_token = calendar_token_regenerate(participant=portal_person)
    large = (TherapySession.objects.filter(track=tracks[0], local_date__lt=today)
             .order_by("-starts_at").first())
    return Clinic(
        participants=len(people), site_ids=[s.pk for s in sites],
        track_ids=[t.pk for t in tracks], clinician_username=leads[0].username,
        admin_username=admin.username, portal_username=portal_user.username,
        portal_participant_code=str(portal_person.code), feed_token=feed_token,
        large_session_id=large.pk, chart_participant_code=str(people[TRACKS].code),
        seconds=time.perf_counter() - started,
    )


def add_authorizations(*, cursor, today: dt.date, ended: bool = False) -> None:
    """Payers, a coverage row for every active enrollment and, for nine in ten of them, an
    approved per-diem H0015 authorization over the enrollment's twelve weeks (units, review
    dates and an early end for one in fifty spread by a hash of the ids, so some raise alerts);
    the tenth has none, so Today reads every kind of alert at size. With `ended`, the completed
    and discharged enrollments of the clinic's history have theirs too, over their planned weeks
    and with no review ahead."""
    statuses = ["active", "completed", "discharged"] if ended else ["active"]
    cursor.execute("""
        INSERT INTO authorizations_payer (name, requires_authorization, phone, is_active)
        VALUES ('Lakeside Health Plan (bench)', true, '+15550000001', true),
               ('Harbor Mutual (bench)', true, '+15550000002', true),
               ('County Behavioral Fund (bench)', false, '', true)
    """)
    cursor.execute("""
        INSERT INTO authorizations_coverage (enrollment_id, payer_id, member_id, updated_at)
        SELECT e.id, py.id, 'MB' || e.id, now()
        FROM participants_enrollment e
        JOIN authorizations_payer py ON py.name = (ARRAY['Lakeside Health Plan (bench)',
            'Harbor Mutual (bench)', 'County Behavioral Fund (bench)'])[1 + e.id %% 3]
        WHERE e.status = ANY(%(statuses)s)
    """, {"statuses": statuses})
    cursor.execute("""
        INSERT INTO authorizations_authorization
            (enrollment_id, payer_id, member_id, number, level_of_care, unit, service_code,
             units_authorized, start_date, end_date, next_review_date, status, note,
             created_at, updated_at, created_by_id)
        SELECT e.id, c.payer_id, c.member_id, 'BA' || e.id, '2.1', 'day', 'H0015',
               20 + abs(hashtext('units' || e.id)) %% 40, e.admission_date,
               CASE WHEN e.status = 'active' AND abs(hashtext('end' || e.id)) %% 50 = 0
                    THEN %(today)s::date - 3 ELSE e.planned_end_date END,
               CASE WHEN e.status = 'active'
                    THEN %(today)s::date + abs(hashtext('review' || e.id)) %% 30 END,
               'approved', '', now(), now(), NULL
        FROM participants_enrollment e
        JOIN authorizations_coverage c ON c.enrollment_id = e.id
        WHERE e.status = ANY(%(statuses)s) AND e.id %% 10 <> 0
    """, {"today": today, "statuses": statuses})
    # Usage is derived from attendance by the service the signals and beat call (one statement).
    from authorizations.services import authorization_usage_refresh

    authorization_usage_refresh(today=today)


def clinic_find(*, new_feed_token: bool = True) -> Clinic:
    """The Clinic of a database build_clinic filled earlier (bench/web.py --reuse).

    The feed token is stored hashed only, so a new one is made unless `new_feed_token` is off
    (then the feed page of the returned Clinic answers 404).
    """
    from django.db import connection
    from django.db.models import Count

    from participants.models import Participant
    from participants.portal_accounts import calendar_token_regenerate
    from programs.models import Site, Track
    from sessions.models import TherapySession

    tracks = list(Track.objects.order_by("pk"))
    portal_person = Participant.objects.get(user__username="bench-portal")
    large = (TherapySession.objects.filter(track=tracks[0]).annotate(n=Count("attendances"))
             .filter(n__gt=0, attendances__status="present").order_by("-starts_at").first())
    people = list(Participant.objects.order_by("pk").values_list("code", flat=True)[:TRACKS + 1])
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_clock') IS NOT NULL")
        recorded = cursor.fetchone()[0]
        if recorded:
            cursor.execute("SELECT now FROM bench_clock")
            recorded = cursor.fetchone()[0]
    return Clinic(
        participants=Participant.objects.filter(enrollments__status="active").count(),
        site_ids=list(Site.objects.order_by("pk").values_list("pk", flat=True)),
        track_ids=[t.pk for t in tracks], clinician_username=tracks[0].lead_clinician.username,
        admin_username="bench-admin", portal_username="bench-portal",
        portal_participant_code=str(portal_person.code),
        feed_token=(calendar_token_regenerate(participant=portal_person)
                    if new_feed_token else "no-token"),
        large_session_id=large.pk, chart_participant_code=str(people[TRACKS]), seconds=0.0,
        now=recorded or None,
    )
