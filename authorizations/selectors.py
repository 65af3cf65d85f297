"""The reads of payer authorizations: units used and scheduled, alerts, the expiring report.

Definitions (tests pin them down):
- Units **used** come from attendance, never from a typed figure, with the billing report's rule
  (sessions.selectors.billing): attendance rows of the authorization's enrollment, marked
  present, late or left early, at scheduled (not cancelled) sessions whose type carries the
  authorization's service code, on a local date from its first to its last covered day and no
  later than today. Per unit: "day" one unit per date whose attended minutes meet the code's
  day rule (e.g. H0015 at least 180 minutes); "session" one unit per attended session; "hour"
  attended minutes / 60. Absences, excused absences and the clinic's cancellations (closures
  included) use nothing.
- Units **scheduled** are projected from the participant's upcoming attendance: rows still
  expected at scheduled sessions of that code from today on; for "day" units a date counts when
  its attended plus still-scheduled minutes would meet the rule. Scheduled units inside the
  covered dates are `scheduled`; those after the last covered day are `after_end`.
- **Over from**: the first date whose scheduled unit takes used + scheduled past the units
  authorized.
- An authorization is **superseded** when the same enrollment has another approved or
  requested authorization for the same service code ending later: that one takes over, so
  the older one's end raises no alert.

Every figure comes out of one SQL query for any number of authorizations
(`authorization_figures`); Today adds a second for active participants whose payer requires an
authorization and who have none (`missing_authorizations`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
import uuid

from django.db import connection, connections, router
from django.utils.formats import date_format, get_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import get_language

from iop_clinic.prepared import fetchall
from iop_clinic.compiled import CompiledQuery, compile_once, id_sentinels
from participants.models import Enrollment, EnrollmentStatus, Participant
from programs.models import Program, SessionType, Track
from sessions.models import Attendance, AttendanceStatus, SessionStatus, TherapySession
from sessions.selectors.billing import day_counts_sql, rules_cte

from .models import (
    Authorization,
    AuthorizationStatus,
    AuthorizationAlertRow,
    AuthorizationUnit,
    AuthorizationUsage,
    Coverage,
    Payer,
)

USAGE_STATUSES = (AuthorizationStatus.APPROVED, AuthorizationStatus.EXPIRED)


class AlertKind:
    LOW_UNITS = "low_units"
    OVER_UNITS = "over_units"
    AFTER_END = "after_end"
    REVIEW_DUE = "review_due"
    EXPIRED = "expired"
    MISSING = "missing"


@dataclass(frozen=True)
class AuthorizationAlert:
    kind: str
    participant_code: str
    participant: str
    text: str  # a message template, filled with `params` when shown
    params: dict
    on_date: date | None
    authorization_id: int | None = None

    @property
    def message(self) -> str:
        return str(self.text) % {k: _shown(k, v) for k, v in self.params.items()}


@dataclass
class AuthorizationFigures:
    id: int
    enrollment_id: int
    payer: str
    member_id: str
    number: str
    level_of_care: str
    unit: str
    service_code: str
    units_authorized: int
    start_date: date
    end_date: date
    next_review_date: date | None
    status: str
    note: str
    participant_code: str
    participant: str
    enrollment_active: bool
    alert_units: int
    review_days: int
    used: Decimal
    scheduled: Decimal
    over_from: date | None
    runs_out_on: date | None
    after_end: Decimal
    after_end_from: date | None
    superseded: bool  # as the alert rule needs it: False unless ended or scheduled after the end
    alert_kinds: list[str]  # the alert rule's verdict (`_alert_kinds_sql`), in shown order
    alerts: list[AuthorizationAlert] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return Decimal(self.units_authorized) - self.used

    @property
    def over_by(self) -> Decimal:
        return max(Decimal(0), self.used + self.scheduled - self.units_authorized)

    def get_status_display(self) -> str:
        return AuthorizationStatus(self.status).label

    def get_unit_display(self) -> str:
        return AuthorizationUnit(self.unit).label


def _t(model) -> str:
    return model._meta.db_table



def usage_sql(where: str, where_params: tuple, *, today: date) -> tuple[str, tuple]:
    """The one definition of usage, as SQL: one row per authorization matching `where` (over
    au, e and t) with `authorization_id, used, scheduled, over_from, runs_out_on, after_end,
    after_end_from`. The chart reads it live; `services.authorization_usage_refresh` stores it
    for Today and the report."""
    rules_sql, rules_params = rules_cte()
    attended = tuple(AttendanceStatus.attended())
    marks = ", ".join(["%s"] * len(attended))
    if connection.vendor == "postgresql":
        length = "EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) / 60"
        as_int, as_num, per_hour = "::int::numeric", "::numeric", "60"
    else:  # SQLite (`make run`): whole seconds from its datetime text; booleans are 0 and 1
        length = "(strftime('%%s', s.ends_at) - strftime('%%s', s.starts_at)) / 60"
        as_int, as_num, per_hour = "", "", "60.0"
    done = f"at.status IN ({marks}) AND s.local_date <= %s"
    ahead = "at.status = %s AND s.local_date >= %s"
    sql = f"""
        WITH {rules_sql},
        a AS (
            SELECT au.id, au.enrollment_id, au.unit, au.service_code, au.units_authorized,
                   au.start_date, au.end_date
            FROM {_t(Authorization)} au
            JOIN {_t(Enrollment)} e ON e.id = au.enrollment_id
            JOIN {_t(Track)} t ON t.id = e.track_id
            WHERE {where}
        ),
        days AS (
            SELECT a.id AS auth_id, s.local_date,
                   COALESCE(SUM(COALESCE(at.minutes_attended, {length})) FILTER (WHERE {done}),
                            0) AS done_min,
                   COUNT(*) FILTER (WHERE {done}) AS done_n,
                   COALESCE(SUM({length}) FILTER (WHERE {ahead}), 0) AS ahead_min,
                   COUNT(*) FILTER (WHERE {ahead}) AS ahead_n
            FROM {_t(Attendance)} at
            JOIN {_t(TherapySession)} s ON s.id = at.session_id
            JOIN {_t(SessionType)} st ON st.id = s.session_type_id
            JOIN a ON a.enrollment_id = at.enrollment_id
            WHERE st.service_code = a.service_code AND s.status = %s
              AND s.local_date >= a.start_date AND at.status IN ({marks}, %s)
            GROUP BY a.id, s.local_date
        ),
        units AS (
            SELECT d.auth_id, d.local_date, d.local_date > a.end_date AS after_end,
                   a.units_authorized,
                   (CASE a.unit WHEN 'day' THEN ({day_counts_sql('d.done_min')}){as_int}
                                WHEN 'session' THEN d.done_n{as_num}
                                ELSE (d.done_min / {per_hour}){as_num} END) AS used,
                   (CASE a.unit
                        WHEN 'day' THEN (NOT {day_counts_sql('d.done_min')}
                                         AND {day_counts_sql('(d.done_min + d.ahead_min)')}
                                         ){as_int}
                        WHEN 'session' THEN d.ahead_n{as_num}
                        ELSE (d.ahead_min / {per_hour}){as_num} END) AS ahead
            FROM days d JOIN a ON a.id = d.auth_id
            LEFT JOIN rules r ON r.code = a.service_code
        ),
        running AS (
            SELECT u.*,
                   SUM(CASE WHEN u.after_end THEN 0 ELSE u.used END)
                       OVER (PARTITION BY u.auth_id) AS used_total,
                   SUM(CASE WHEN u.after_end THEN 0 ELSE u.ahead END)
                       OVER (PARTITION BY u.auth_id ORDER BY u.local_date) AS ahead_running
            FROM units u
        ),
        per_auth AS (
            SELECT auth_id,
                   SUM(used) FILTER (WHERE NOT after_end) AS used,
                   SUM(ahead) FILTER (WHERE NOT after_end) AS scheduled,
                   MIN(local_date) FILTER (WHERE NOT after_end AND ahead > 0
                                           AND used_total + ahead_running > units_authorized)
                       AS over_from,
                   MIN(local_date) FILTER (WHERE NOT after_end AND ahead > 0
                                           AND used_total + ahead_running >= units_authorized)
                       AS runs_out_on,
                   SUM(ahead) FILTER (WHERE after_end) AS after_end,
                   MIN(local_date) FILTER (WHERE after_end AND ahead > 0) AS after_end_from
            FROM running GROUP BY auth_id
        )
        SELECT a.id AS authorization_id,
               ROUND(COALESCE(pa.used, 0), 2) AS used,
               ROUND(COALESCE(pa.scheduled, 0), 2) AS scheduled, pa.over_from, pa.runs_out_on,
               ROUND(COALESCE(pa.after_end, 0), 2) AS after_end, pa.after_end_from
        FROM a LEFT JOIN per_auth pa ON pa.auth_id = a.id
    """
    params = (
        *rules_params, *where_params,
        *attended, today,  # done_min
        *attended, today,  # done_n
        AttendanceStatus.EXPECTED.value, today,  # ahead_min
        AttendanceStatus.EXPECTED.value, today,  # ahead_n
        SessionStatus.SCHEDULED.value, *attended, AttendanceStatus.EXPECTED.value,
    )
    return sql, params


# The date each alert kind names, as a column of `_figures_sql`'s rows.
ALERT_DATE_COLUMN = {
    AlertKind.EXPIRED: "end_date",
    AlertKind.OVER_UNITS: "over_from",
    AlertKind.AFTER_END: "after_end_from",
    AlertKind.LOW_UNITS: "end_date",
    AlertKind.REVIEW_DUE: "next_review_date",
}


def _alert_kinds_sql() -> str:
    """The alert rule, over one row of `_figures_sql`'s inner query: the kinds of alert an
    authorization raises, in the order they are shown. Only approved or expired
    authorizations of active participants raise any; one that expired (and nothing later
    took over) raises only that. Over units, after the end (unless superseded), few units
    left, and a utilization review within the program's days each raise one. On SQLite
    (`make run`), which has no arrays, the kinds come as one text, each followed by a comma
    (`_sqlite_figures` splits it)."""
    if connection.vendor != "postgresql":
        return f"""
        CASE WHEN figures.status NOT IN (%s, %s) OR NOT figures.enrollment_active THEN ''
             WHEN figures.end_date < %s AND NOT figures.superseded THEN '{AlertKind.EXPIRED},'
             ELSE CASE WHEN figures.over_from IS NOT NULL THEN '{AlertKind.OVER_UNITS},'
                       ELSE '' END
                  || CASE WHEN figures.after_end_from IS NOT NULL AND NOT figures.superseded
                          THEN '{AlertKind.AFTER_END},' ELSE '' END
                  || CASE WHEN figures.end_date >= %s AND figures.units_authorized
                                   - figures.used <= figures.authorization_alert_units
                          THEN '{AlertKind.LOW_UNITS},' ELSE '' END
                  || CASE WHEN figures.end_date >= %s AND figures.next_review_date
                                   <= date(%s, figures.authorization_review_days || ' days')
                          THEN '{AlertKind.REVIEW_DUE},' ELSE '' END
        END"""
    sql = f"""
        CASE WHEN figures.status NOT IN (%s, %s) OR NOT figures.enrollment_active
                 THEN ARRAY[]::text[]
             WHEN figures.end_date < %s AND NOT figures.superseded
                 THEN ARRAY['{AlertKind.EXPIRED}']
             ELSE array_remove(ARRAY[
                 CASE WHEN figures.over_from IS NOT NULL THEN '{AlertKind.OVER_UNITS}' END,
                 CASE WHEN figures.after_end_from IS NOT NULL AND NOT figures.superseded
                      THEN '{AlertKind.AFTER_END}' END,
                 CASE WHEN figures.end_date >= %s AND figures.units_authorized - figures.used
                                                      <= figures.authorization_alert_units
                      THEN '{AlertKind.LOW_UNITS}' END,
                 CASE WHEN figures.end_date >= %s AND figures.next_review_date
                                                      <= %s + figures.authorization_review_days
                      THEN '{AlertKind.REVIEW_DUE}' END]::text[], NULL)
        END"""
    return sql


def _figures_inner_sql(where: str, where_params: tuple, *, today: date,
                       live: bool) -> tuple[str, tuple]:
    """One row per authorization matching `where` (over au, e and t) with its usage and what
    the alert rule reads (`_alert_kinds_sql`), the columns of `AuthorizationFigures` up to
    `superseded`, in no order."""
    if live:
        usage, usage_params = usage_sql(where, where_params, today=today)
        source = f"({usage})"
    else:
        usage_params = ()
        source = _t(AuthorizationUsage)
    # `superseded` comes from a lateral join, not an EXISTS in the select list: the alert rule
    # reads it three times, and PostgreSQL ran an EXISTS once for each mention. The rule reads
    # it only for an authorization that has ended or has units scheduled after its end, so the
    # join looks for a later one only then (a one-time filter, checked before the index scan):
    # probing for each of 1,000 current authorizations was a fifth of Today's alert query.
    sql = f"""
            SELECT au.id, au.enrollment_id, py.name AS payer, au.member_id, au.number,
                   au.level_of_care, au.unit, au.service_code, au.units_authorized,
                   au.start_date, au.end_date, au.next_review_date, au.status, au.note,
                   p.code::text AS code, p.first_name || ' ' || p.last_name AS participant,
                   {_RULE_FIGURES}
            FROM {_t(Authorization)} au
            JOIN {_t(Payer)} py ON py.id = au.payer_id
            JOIN {_t(Enrollment)} e ON e.id = au.enrollment_id
            JOIN {_t(Participant)} p ON p.id = e.participant_id
            JOIN {_t(Track)} t ON t.id = e.track_id
            JOIN {_t(Program)} pr ON pr.id = t.program_id
            LEFT JOIN {source} u ON u.authorization_id = au.id
            {_LATER_JOIN}
            WHERE {where}
    """
    params = (EnrollmentStatus.ACTIVE.value, *usage_params, *_later_params(today),
              *where_params)
    if connection.vendor != "postgresql":
        return _sqlite_inner(sql), (EnrollmentStatus.ACTIVE.value, *_later_params(today),
                                    *usage_params, *where_params)
    return sql, params


# What the alert rule reads of an authorization (over e, pr, its usage u and `_LATER_JOIN`),
# the columns of `AuthorizationFigures` from `enrollment_active` to `superseded`; its one
# param is EnrollmentStatus.ACTIVE. `_RULE_FIGURES_OVER` reads the program's columns from
# another relation than pr (`program`).
_RULE_FIGURES_OVER = """e.status = %s AS enrollment_active,
                   {program}.authorization_alert_units, {program}.authorization_review_days,
                   COALESCE(u.used, 0) AS used, COALESCE(u.scheduled, 0) AS scheduled,
                   u.over_from, u.runs_out_on, COALESCE(u.after_end, 0) AS after_end,
                   u.after_end_from, later.id IS NOT NULL AS superseded"""
_RULE_FIGURES = _RULE_FIGURES_OVER.format(program="pr")


# `later.id`: another approved or requested authorization of the same enrollment and service
# code that ends later (`superseded`), looked for only where the alert rule reads it (over au
# and its usage u; params: `_later_params`).
_LATER_JOIN = f"""LEFT JOIN LATERAL (
                SELECT o.id FROM {_t(Authorization)} o
                WHERE (au.end_date < %s OR u.after_end_from IS NOT NULL)
                  AND o.enrollment_id = au.enrollment_id AND o.id <> au.id
                  AND o.service_code = au.service_code
                  AND o.status IN (%s, %s) AND o.end_date > au.end_date
                LIMIT 1) later ON true"""


def _later_params(today: date) -> tuple:
    return (today, AuthorizationStatus.APPROVED.value, AuthorizationStatus.REQUESTED.value)


def _sqlite_inner(sql: str) -> str:
    """`_figures_inner_sql` for SQLite, which has no lateral join and no ::text: the later
    authorization is looked for in the select list (its parameters so come before the usage's)
    and the code is read as stored (`_sqlite_figures` writes it as a UUID)."""
    head, lateral = sql.split("            LEFT JOIN LATERAL (")
    subquery, where = lateral.split(") later ON true")
    head = head.replace("p.code::text AS code", "p.code AS code").replace(
        "later.id IS NOT NULL AS superseded", f"({subquery.strip()}) IS NOT NULL AS superseded")
    select, rest = head.split("            FROM ", 1)
    return select + "            FROM " + rest + where


def _figures_rows_sql(where: str, where_params: tuple, *, today: date, live: bool,
                      alerts_only: bool = False,
                      ending_within: int | None = None) -> tuple[str, tuple]:
    """`_figures_sql` before its order."""
    inner, inner_params = _figures_inner_sql(where, where_params, today=today, live=live)
    sql = f"""
        SELECT * FROM (
          SELECT figures.*, {_alert_kinds_sql()} AS alert_kinds FROM ({inner}
          ) figures
        ) rows
    """
    params = (*(s.value for s in USAGE_STATUSES), today, today, today, today, *inner_params)
    if alerts_only:
        sql += (" WHERE cardinality(alert_kinds) > 0" if connection.vendor == "postgresql"
                else " WHERE alert_kinds <> ''")
    elif ending_within is not None:
        until = today + timedelta(days=ending_within)
        sql += """
        WHERE status = %s AND end_date >= %s AND (end_date <= %s OR units_authorized <= used
                                                  OR runs_out_on <= %s)
        """
        params = (*params, AuthorizationStatus.APPROVED.value, today, until, until)
    return sql, params


FIGURES_ORDER = " ORDER BY end_date, id"


def _figures_sql(where: str, where_params: tuple, *, today: date, live: bool,
                 alerts_only: bool = False,
                 ending_within: int | None = None) -> tuple[str, tuple]:
    """Every authorization matching `where` (over au, e and t) with its usage and the kinds of
    alert it raises, one row each, by end date: usage computed from attendance (`live`) or
    read from the stored usage (AuthorizationUsage)."""
    sql, params = _figures_rows_sql(where, where_params, today=today, live=live,
                                    alerts_only=alerts_only, ending_within=ending_within)
    return sql + FIGURES_ORDER, params


EXPIRED_TEXT = _lazy("Authorization %(auth)s expired on %(date)s while the participant is "
                     "active.")
OVER_TEXT = _lazy("%(over)s %(unit)s units scheduled beyond the %(authorized)s authorized "
                  "(%(auth)s), from %(date)s.")
AFTER_END_TEXT = _lazy("%(n)s %(unit)s units scheduled after %(auth)s ends on %(end)s, from "
                       "%(date)s.")
LOW_TEXT = _lazy("%(left)s of %(authorized)s %(unit)s units left on %(auth)s (ends %(end)s).")
REVIEW_PAST_TEXT = _lazy("Utilization review for %(auth)s was due on %(date)s.")
REVIEW_TEXT = _lazy("Utilization review for %(auth)s is due on %(date)s.")
MISSING_TEXT = _lazy("%(payer)s requires an authorization and none is recorded (admitted "
                     "%(date)s).")


_AlertPart = tuple  # (kind, text, on_date, params): an alert before it is made an object


def _alert_part(row: AuthorizationFigures, kind: str, *, today: date) -> _AlertPart:
    """The alert of `kind` that SQL found for one authorization (`_alert_kinds_sql`), naming
    its date and the figures its message shows."""
    on_date = getattr(row, ALERT_DATE_COLUMN[kind])
    params = {"auth": f"{row.payer} {row.number}".strip()}
    if kind == AlertKind.EXPIRED:
        return kind, EXPIRED_TEXT, on_date, {**params, "date": on_date}
    if kind == AlertKind.OVER_UNITS:
        return kind, OVER_TEXT, on_date, {**params, "over": row.over_by, "unit": row.unit,
                                          "authorized": row.units_authorized, "date": on_date}
    if kind == AlertKind.AFTER_END:
        return kind, AFTER_END_TEXT, on_date, {**params, "n": row.after_end, "unit": row.unit,
                                               "end": row.end_date, "date": on_date}
    if kind == AlertKind.LOW_UNITS:
        return kind, LOW_TEXT, on_date, {**params, "left": row.remaining,
                                         "authorized": row.units_authorized, "unit": row.unit,
                                         "end": row.end_date}
    text = REVIEW_PAST_TEXT if on_date < today else REVIEW_TEXT
    return kind, text, on_date, {**params, "date": on_date}


def _alert_parts(row: AuthorizationFigures, *, today: date) -> list[_AlertPart]:
    """What is wrong with one authorization, each alert naming the date."""
    return [_alert_part(row, kind, today=today) for kind in row.alert_kinds]


def _alert(row: AuthorizationFigures, part: _AlertPart) -> AuthorizationAlert:
    kind, text, on_date, params = part
    return AuthorizationAlert(kind=kind, participant_code=row.participant_code,
                              participant=row.participant, text=text, params=params,
                              on_date=on_date, authorization_id=row.id)


def _alerts(row: AuthorizationFigures, *, today: date) -> list[AuthorizationAlert]:
    """What is wrong with one authorization, each alert naming the person and the date.
    Messages are written only when shown (Today lists the first few of many)."""
    return [_alert(row, part) for part in _alert_parts(row, today=today)]


def _shown(name: str, value) -> str:
    if name == "unit":
        return str(AuthorizationUnit(value).label).lower()
    if isinstance(value, date):
        return _d(value)
    if isinstance(value, Decimal):
        return _figure(value)
    return str(value)


def _d(day: date) -> str:
    """A date as the clinic's pages write it (e.g. "Mar 1, 2026")."""
    return _date_text(get_language(), get_format("DATE_FORMAT"), day)


# A calendar day's text in a language and format, kept across requests: Today's alerts write
# some seventy dates, formatting one cost about 43 µs and finding it here 13 µs. The words of
# the calendar, nothing about anyone.
@lru_cache(maxsize=4096)
def _date_text(language: str | None, date_format_string: str, day: date) -> str:
    return date_format(day, "DATE_FORMAT")


def _figure(value: Decimal) -> str:
    """2, 2.5 or 1.25: units without trailing zeros."""
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0")


_DATE_COLUMNS = frozenset(i for i, f in enumerate(fields(AuthorizationFigures))
                          if "date" in str(f.type) and f.name != "alert_kinds")
_DECIMAL_COLUMNS = frozenset(i for i, f in enumerate(fields(AuthorizationFigures))
                             if f.type == "Decimal")


def _sqlite_figures(values: tuple) -> tuple:
    """A row of `_figures_sql` from SQLite as PostgreSQL gives it: dates and decimals as
    such (SQLite returns text and floats), the code as a UUID, the alert kinds as a list."""
    values = [date.fromisoformat(v) if i in _DATE_COLUMNS and isinstance(v, str)
              else Decimal(str(v)) if i in _DECIMAL_COLUMNS and isinstance(v, (int, float))
              else v for i, v in enumerate(values)]
    values[14] = uuid.UUID(str(values[14]))
    values[-1] = values[-1].split(",")[:-1]
    return tuple(values)


def _figures(sql: str, params, *, today: date,
             prepare: bool = False) -> list[AuthorizationFigures]:
    rows = []
    sqlite = connection.vendor != "postgresql"
    for values in fetchall(sql, params, prepare=prepare):
        if sqlite:
            values = _sqlite_figures(values)
        row = AuthorizationFigures(*values[:14], str(values[14]), *values[15:])
        row.alerts = _alerts(row, today=today)
        rows.append(row)
    return rows


def authorization_figures(*, enrollment_ids, today: date) -> list[AuthorizationFigures]:
    """Every authorization of these enrollments with its usage and alerts. One query,
    prepared once a connection (planning it took ~1.6 ms of each chart at 2,000 participants;
    the generic plan is the same): the ids are one person's enrollments, a statement per
    count of them, so a few at most."""
    ids = tuple(enrollment_ids)
    if not ids:
        return []
    sql, params = _figures_sql("au.enrollment_id IN %s", (ids,), today=today, live=True)
    return _figures(sql, params, today=today, prepare=True)


def _alerts_sql(ids: tuple, *, today: date, alerts_only: bool = True) -> tuple[str, tuple]:
    """The authorizations at these sites that may raise an alert (that do, `alerts_only`), in
    no order."""
    return _figures_rows_sql(
        "e.status = %s AND t.site_id IN %s AND au.status IN %s",
        (EnrollmentStatus.ACTIVE.value, ids, tuple(s.value for s in USAGE_STATUSES)),
        today=today, live=False, alerts_only=alerts_only)


def _alert_order(alert: AuthorizationAlert) -> tuple:
    return (alert.on_date or date.max, alert.participant)


def authorization_alerts(*, site_ids, today: date) -> list[AuthorizationAlert]:
    """Today's authorization alerts for active participants at these sites. Two queries: one
    for the authorizations' usage, one for payers that require an authorization nobody asked
    for."""
    ids = tuple(site_ids)
    if not ids:
        return []
    sql, params = _alerts_sql(ids, today=today)
    sql += FIGURES_ORDER
    alerts = [alert for row in _figures(sql, params, today=today) for alert in row.alerts]
    alerts += missing_authorizations(site_ids=ids)
    return sorted(alerts, key=_alert_order)


# The kinds of alert in their places in the rule (`_alert_kinds_sql`), as AuthorizationAlertRow
# numbers them (migration 0004); a missing authorization's kind comes after them.
_ALERT_KINDS = (AlertKind.EXPIRED, AlertKind.OVER_UNITS, AlertKind.AFTER_END,
                AlertKind.LOW_UNITS, AlertKind.REVIEW_DUE)
MISSING_KIND = len(_ALERT_KINDS) + 1


def authorization_alerts_first(*, site_ids, today: date,
                               shown: int) -> tuple[list[AuthorizationAlert], int]:
    """The first `shown` of `authorization_alerts` in the same order, and how many there are
    in all; one query over the kept alert rows (the missing authorizations among them;
    `authorization_alerts` works the rule out and reads them apart). Today shows 25 of some
    900 alerts at 2,000 people: SQL orders and counts them, and only those shown are read."""
    ids = tuple(site_ids)
    if not ids:
        return [], 0
    if connection.vendor != "postgresql":  # SQLite (`make run`): every alert, then the first
        alerts = authorization_alerts(site_ids=ids, today=today)
        return alerts[:shown], len(alerts)
    # The alerts shown today are the kept rows (AuthorizationAlertRow, migration 0004: the
    # rule worked out by triggers whenever what it reads changes, its comparisons with today's
    # date left as each row's first and last day shown), so the statement reads the site's rows
    # and nothing else to count and order them: working the rule out for each of some 1,000
    # authorizations of 2,000 people took ~4 ms of each view. Only the rows dated up to the
    # `shown`th are kept (WITH TIES: every alert of that last date, ~100 at 2,000 people); the
    # names, payers and authorizations' end dates order those, and the `shown` first alone
    # are read with their authorizations' text, usage, program settings and later
    # authorization (joining those for all ~100 cost ~0.25 of ~1.15 ms of execution, and
    # planning the nine tables as one join search ~1.6 ms, ~0.9 ms as two). The rule's
    # `superseded` as it reads it (looked for only for an authorization that has ended or has
    # units scheduled after its end) is looked for again for them, as the figures have it.
    # authorization_alerts' order: by date, then person (Python compares names by code
    # point, as the "C" collation does), then the authorization's place (end date, id) and
    # the alert's place in its rule. Ties keep the order authorization_alerts' stable sort
    # kept: an authorization's alerts before a missing one (src), the missing ones in their
    # own query's order (last name, then person).
    kinds = ", ".join(f"'{kind}'" for kind in (*_ALERT_KINDS, AlertKind.MISSING))
    rows = fetchall(f"""
        SELECT au.id, au.enrollment_id, shown.payer, au.member_id, au.number, au.level_of_care,
               au.unit, au.service_code, au.units_authorized, au.start_date, au.end_date,
               au.next_review_date, au.status, au.note, shown.code, shown.name,
               {_RULE_FIGURES},
               (ARRAY[{kinds}])[shown.kind] AS kind, shown.kind AS n, shown.on_date, shown.src,
               shown.last_name, shown.person_id, shown.alert_count
        FROM (
            SELECT head.authorization_id, head.kind, head.on_date, head.src, head.alert_count,
                   py.name AS payer, p.code::text AS code,
                   p.first_name || ' ' || p.last_name AS name, a.end_date, a.id,
                   CASE head.src WHEN 1 THEN p.last_name END AS last_name,
                   CASE head.src WHEN 1 THEN p.id END AS person_id
            FROM (
                SELECT r.authorization_id, r.participant_id, r.payer_id, r.kind, r.on_date,
                       (r.kind = {MISSING_KIND})::int AS src, COUNT(*) OVER () AS alert_count
                FROM {_t(AuthorizationAlertRow)} r
                WHERE r.site_id IN %s AND (r.shown_from IS NULL OR r.shown_from <= %s)
                  AND (r.shown_until IS NULL OR r.shown_until >= %s)
                ORDER BY r.on_date
                FETCH FIRST %s ROWS WITH TIES
            ) head
            JOIN {_t(Participant)} p ON p.id = head.participant_id
            JOIN {_t(Payer)} py ON py.id = head.payer_id
            LEFT JOIN {_t(Authorization)} a ON a.id = head.authorization_id
            ORDER BY head.on_date, (p.first_name || ' ' || p.last_name) COLLATE "C", head.src,
                     a.end_date, a.id, head.kind, last_name, person_id
            LIMIT %s
        ) shown
        LEFT JOIN {_t(Authorization)} au ON au.id = shown.authorization_id
        LEFT JOIN {_t(Enrollment)} e ON e.id = au.enrollment_id
        LEFT JOIN {_t(Track)} t ON t.id = e.track_id
        LEFT JOIN {_t(Program)} pr ON pr.id = t.program_id
        LEFT JOIN {_t(AuthorizationUsage)} u ON u.authorization_id = au.id
        {_LATER_JOIN}
        ORDER BY shown.on_date, shown.name COLLATE "C", shown.src, shown.end_date, shown.id,
                 shown.kind, shown.last_name, shown.person_id
    """, (EnrollmentStatus.ACTIVE.value,  # the shown alerts' figures
          ids, today, today, max(shown, 1),  # the rows shown today
          max(shown, 1),  # the first of them in order
          *_later_params(today)), prepare=True)
    alerts = []
    for values in rows:
        kind, src = values[_FIGURE_COLUMNS], values[_FIGURE_COLUMNS + 3]
        if src:
            alerts.append(_missing_alert(values[14], values[15], values[2],
                                         values[_FIGURE_COLUMNS + 2]))
            continue
        row = AuthorizationFigures(*values[:14], str(values[14]),
                                   *values[15:_FIGURE_COLUMNS], [kind])
        alerts.append(_alert(row, _alert_part(row, kind, today=today)))
    return alerts[:shown], (rows[0][-1] if rows else 0)


def missing_authorizations(*, site_ids) -> list[AuthorizationAlert]:
    """Active participants at these sites whose payer requires an authorization and who have
    none approved or requested. One query."""
    ids = tuple(site_ids)
    if not ids:
        return []
    code = "p.code::text" if connection.vendor == "postgresql" else "p.code"
    rows = fetchall(f"""
        SELECT {code}, p.first_name || ' ' || p.last_name, py.name, e.admission_date
        {_MISSING_FROM.format(enrollments=_MISSING_ENROLLMENTS,
                              participants=_MISSING_PARTICIPANTS)}
        ORDER BY e.admission_date, p.last_name, p.id
    """, _missing_params(ids))
    if connection.vendor != "postgresql":  # SQLite: the code as stored, the date as text
        rows = [(uuid.UUID(str(code)), name, payer,
                 date.fromisoformat(admitted) if isinstance(admitted, str) else admitted)
                for code, name, payer, admitted in rows]
    return [_missing_alert(code, name, payer, admitted) for code, name, payer, admitted in rows]


# The enrollments `missing_authorizations` reads (params: `_missing_params`; `enrollments`:
# `_MISSING_ENROLLMENTS`), and a join of their participants (p) to place between them. The
# alert rows' refresh (migration 0004) writes the same rule in its own SQL.
_MISSING_FROM = f"""
        FROM {_t(Coverage)} c
        JOIN {_t(Payer)} py ON py.id = c.payer_id AND py.requires_authorization
        {{enrollments}}
        {{participants}}
        WHERE NOT EXISTS (SELECT 1 FROM {_t(Authorization)} au
                          WHERE au.enrollment_id = e.id AND au.payer_id = c.payer_id
                            AND au.status IN %s)"""
_MISSING_PARTICIPANTS = f"JOIN {_t(Participant)} p ON p.id = e.participant_id"
# The active enrollments at the sites (params: EnrollmentStatus.ACTIVE, the site ids).
_MISSING_ENROLLMENTS = f"""JOIN {_t(Enrollment)} e ON e.id = c.enrollment_id AND e.status = %s
        JOIN {_t(Track)} t ON t.id = e.track_id AND t.site_id IN %s"""
_FIGURE_COLUMNS = len(fields(AuthorizationFigures)) - 2  # the SQL has no kinds, no alerts


def _missing_params(ids: tuple) -> tuple:
    return (EnrollmentStatus.ACTIVE.value, ids, _MISSING_STATUSES)


_MISSING_STATUSES = (AuthorizationStatus.APPROVED.value, AuthorizationStatus.REQUESTED.value)


def _missing_alert(code, name: str, payer: str, admitted: date) -> AuthorizationAlert:
    return AuthorizationAlert(
        kind=AlertKind.MISSING, participant_code=str(code), participant=name,
        text=MISSING_TEXT, params={"payer": payer, "date": admitted}, on_date=admitted)


def missing_for_coverage(*, coverage: Coverage | None, figures: list[AuthorizationFigures],
                         participant_code: str, participant: str) -> AuthorizationAlert | None:
    """The chart's version of `missing_authorizations`, from what the chart already read."""
    if coverage is None or not coverage.payer.requires_authorization:
        return None
    if coverage.enrollment.status != EnrollmentStatus.ACTIVE:
        return None
    payer = coverage.payer.name
    if any(f.payer == payer and f.enrollment_id == coverage.enrollment_id
           and f.status in (AuthorizationStatus.APPROVED, AuthorizationStatus.REQUESTED)
           for f in figures):
        return None
    admitted = coverage.enrollment.admission_date
    return AuthorizationAlert(
        kind=AlertKind.MISSING, participant_code=participant_code, participant=participant,
        text=MISSING_TEXT, params={"payer": payer, "date": admitted}, on_date=admitted)


def authorizations_ending(*, site_ids, today: date, days: int = 14) -> list[AuthorizationFigures]:
    """Approved authorizations of active participants at these sites that end, or whose units
    run out on the current schedule, within `days` days (or have none left). One query."""
    ids = tuple(site_ids)
    if not ids:
        return []
    sql, params = _figures_sql("e.status = %s AND t.site_id IN %s AND au.status = %s",
                               (EnrollmentStatus.ACTIVE.value, ids,
                                AuthorizationStatus.APPROVED.value),
                               today=today, live=False, ending_within=days)
    return _figures(sql, params, today=today)


def coverage_of(*, enrollment) -> Coverage | None:
    """The payer `enrollment` is billed to, with the payer row."""
    return Coverage.objects.filter(enrollment=enrollment).select_related("payer").first()


def chart_authorizations(*, enrollments, participant, today: date) -> ChartAuthorizations:
    """The chart's Authorizations section: every authorization of the participant's
    enrollments with usage and alerts, each enrollment's payer, and the missing-authorization
    alert. Two queries."""
    ids = [e.pk for e in enrollments]
    figures = authorization_figures(enrollment_ids=ids, today=today)
    if all(_ENROLLMENT_COVERAGE.is_cached(e) for e in enrollments):
        # Read with the enrollments (select_related("coverage__payer"), as the chart's are):
        # no query of their own.
        coverages = {e.pk: _ENROLLMENT_COVERAGE.get_cached_value(e) for e in enrollments}
    else:
        coverages = {c.enrollment_id: c for c in _chart_coverages(ids)} if ids else {}
    by_enrollment = {e.pk: ChartEnrollmentAuthorizations(
        enrollment=e, coverage=coverages.get(e.pk),
        authorizations=[f for f in figures if f.enrollment_id == e.pk]) for e in enrollments}
    alerts = [a for f in figures for a in f.alerts]
    for entry in by_enrollment.values():
        coverage = entry.coverage
        if coverage is not None:
            coverage.enrollment = entry.enrollment  # already read: no query for the alert
        missing = missing_for_coverage(coverage=coverage, figures=figures,
                                       participant_code=str(participant.code),
                                       participant=participant.full_name)
        if missing is not None:
            alerts.append(missing)
    return ChartAuthorizations(enrollments=list(by_enrollment.values()), alerts=alerts)


# Enrollment.coverage, the reverse one-to-one: cached (None for no coverage) by select_related.
_ENROLLMENT_COVERAGE = Coverage._meta.get_field("enrollment").remote_field


@lru_cache(maxsize=16)
def _coverages_statement(alias: str, vendor: str, count: int) -> CompiledQuery:
    """"These `count` enrollments' coverages with their payer", compiled by the ORM once per
    process and number of enrollments (iop_clinic.compiled): compiling it cost the chart about
    0.4 ms of CPU, more than running it. Only the enrollment ids change (parameters)."""
    ids, sentinels = id_sentinels("enrollments", count)
    queryset = (Coverage.objects.using(alias).filter(enrollment_id__in=ids)
                .select_related("payer"))
    return compile_once(queryset.query.get_compiler(using=alias), sentinels,
                        what="chart coverages", model=Coverage)


def _chart_coverages(enrollment_ids: list[int]) -> list[Coverage]:
    """What `Coverage.objects.filter(enrollment_id__in=enrollment_ids).select_related("payer")`
    gives. One query."""
    alias = router.db_for_read(Coverage)
    return _coverages_statement(alias, connections[alias].vendor, len(enrollment_ids)).objects(
        {"enrollments": enrollment_ids})


@dataclass
class ChartEnrollmentAuthorizations:
    enrollment: Enrollment
    coverage: Coverage | None
    authorizations: list[AuthorizationFigures]


@dataclass
class ChartAuthorizations:
    enrollments: list[ChartEnrollmentAuthorizations]
    alerts: list[AuthorizationAlert]


@dataclass(frozen=True)
class BookingWarning:
    """What staff are told before booking past an authorization, with the figures."""

    message: str
    on_date: date
    authorization_id: int | None = None


def booking_warnings(*, enrollment, service_code: str, dates: list[date], minutes: int,
                     today: date) -> list[BookingWarning]:
    """Warnings for booking sessions of `service_code` on `dates` (each `minutes` long) for
    `enrollment`: its payer requires an authorization and none at all is recorded (every unit
    booked is unauthorized), a date no approved authorization of that code covers, or units
    beyond those authorized. Other codes the enrollment has no authorization for are not
    checked (an individual session may need none). Two queries."""
    if enrollment is None or not dates or not service_code:
        return []
    every = authorization_figures(enrollment_ids=[enrollment.pk], today=today)
    if not any(f.status in (AuthorizationStatus.APPROVED, AuthorizationStatus.REQUESTED)
               for f in every):
        coverage = coverage_of(enrollment=enrollment)
        if coverage is not None and coverage.payer.requires_authorization:
            return [BookingWarning(
                message=_("%(payer)s requires an authorization and none is recorded: the "
                          "%(n)s session(s) from %(first)s are not authorized.")
                % {"payer": coverage.payer.name, "n": len(dates), "first": _d(min(dates))},
                on_date=min(dates))]
    figures = [f for f in every
               if f.service_code == service_code and f.status == AuthorizationStatus.APPROVED]
    if not figures:
        return []
    warnings = []
    uncovered = [d for d in dates if not any(f.start_date <= d <= f.end_date for f in figures)]
    if uncovered:
        last_end = max(f.end_date for f in figures)
        warnings.append(BookingWarning(
            message=_("%(n)s of the %(total)s sessions (from %(first)s) fall outside every "
                      "approved %(code)s authorization; the last covered day is %(end)s.")
            % {"n": len(uncovered), "total": len(dates), "first": _d(uncovered[0]),
               "code": service_code, "end": _d(last_end)},
            on_date=uncovered[0]))
    for f in figures:
        inside = [d for d in dates if f.start_date <= d <= f.end_date]
        if not inside:
            continue
        adding = {AuthorizationUnit.DAY: Decimal(len(set(inside))),
                  AuthorizationUnit.SESSION: Decimal(len(inside))}.get(
            f.unit, (Decimal(minutes) * len(inside) / 60).quantize(Decimal("0.01")))
        total = f.used + f.scheduled + adding
        if total > f.units_authorized:
            warnings.append(BookingWarning(
                message=_("Authorization %(auth)s: %(used)s used + %(scheduled)s scheduled + "
                          "%(adding)s for this booking = %(total)s %(unit)s units, over the "
                          "%(authorized)s authorized by %(over)s.")
                % {"auth": f"{f.payer} {f.number}", "used": _figure(f.used),
                   "scheduled": _figure(f.scheduled), "adding": _figure(adding),
                   "total": _figure(total), "unit": f.get_unit_display().lower(),
                   "authorized": f.units_authorized,
                   "over": _figure(total - f.units_authorized)},
                on_date=inside[0], authorization_id=f.id))
    return warnings


def booking_dates(*, first: date, repeat_weekly: bool, until: date | None) -> list[date]:
    """The dates a personal booking makes: `first`, and weekly until `until` when repeating
    (closures are not subtracted: a warning errs on the side of telling)."""
    dates = [first]
    while repeat_weekly and until is not None and dates[-1] + timedelta(days=7) <= until:
        dates.append(dates[-1] + timedelta(days=7))
    return dates


def active_enrollment_of(participant) -> Enrollment | None:
    return (Enrollment.objects.filter(participant=participant, status=EnrollmentStatus.ACTIVE)
            .first())


def _none_recorded(*, enrollment, figures, on_date: date) -> list[BookingWarning]:
    """The warning that `enrollment`'s payer requires an authorization and none approved or
    requested is recorded for it (one query: the coverage), or none."""
    coverage = coverage_of(enrollment=enrollment)
    if coverage is None or not coverage.payer.requires_authorization or any(
            f.payer == coverage.payer.name and f.status in (AuthorizationStatus.APPROVED,
                                                            AuthorizationStatus.REQUESTED)
            for f in figures):
        return []
    return [BookingWarning(
        message=_("%(payer)s requires an authorization and none is recorded.")
        % {"payer": coverage.payer.name}, on_date=on_date)]


def admission_warnings(*, enrollment, today: date) -> list[BookingWarning]:
    """Warnings for admitting waitlisted `enrollment` today: its payer requires an
    authorization and none is recorded, or the planned stay runs past an approved
    authorization's dates or units (counted from the track's timetable). Three queries."""
    track = enrollment.track
    admission = max(enrollment.admission_date, today, track.start_date)
    planned_end = admission + timedelta(weeks=track.program.duration_weeks, days=-1)
    figures = authorization_figures(enrollment_ids=[enrollment.pk], today=today)
    warnings = _none_recorded(enrollment=enrollment, figures=figures, on_date=admission)
    approved = [f for f in figures if f.status == AuthorizationStatus.APPROVED]
    offered = _timetable_units(track=track, figures=approved, admission=admission,
                               planned_end=planned_end)
    for f in approved:
        label = f"{f.payer} {f.number}"
        if admission < f.start_date or planned_end > f.end_date:
            warnings.append(BookingWarning(
                message=_("The stay planned from %(admit)s to %(end)s runs past authorization "
                          "%(auth)s, which covers %(start)s to %(auth_end)s.")
                % {"admit": _d(admission), "end": _d(planned_end), "auth": label,
                   "start": _d(f.start_date), "auth_end": _d(f.end_date)},
                on_date=f.end_date if planned_end > f.end_date else admission,
                authorization_id=f.id))
        units = offered.get(f.id, Decimal(0))
        if units > f.units_authorized:
            warnings.append(BookingWarning(
                message=_("The timetable offers %(units)s %(unit)s units of %(code)s within "
                          "authorization %(auth)s; %(authorized)s are authorized.")
                % {"units": _figure(units), "unit": f.get_unit_display().lower(),
                   "code": f.service_code, "auth": label, "authorized": f.units_authorized},
                on_date=admission, authorization_id=f.id))
    return warnings


def resume_warnings(*, enrollment, today: date) -> list[BookingWarning]:
    """Warnings for resuming `enrollment` after a hold, which books it back into every track
    session from today to its planned end: its payer requires an authorization and none is
    recorded, those sessions run past an approved authorization's last day, or the units they
    add to those already used go past the units authorized. Three queries."""
    track = enrollment.track
    start, end = today, enrollment.planned_end_date
    if end < start:
        return []
    figures = authorization_figures(enrollment_ids=[enrollment.pk], today=today)
    warnings = _none_recorded(enrollment=enrollment, figures=figures, on_date=start)
    approved = [f for f in figures if f.status == AuthorizationStatus.APPROVED]
    offered = _timetable_units(track=track, figures=approved, admission=start, planned_end=end)
    for f in approved:
        label = f"{f.payer} {f.number}"
        if end > f.end_date:
            warnings.append(BookingWarning(
                message=_("Resuming books sessions until the planned end on %(end)s, past "
                          "authorization %(auth)s, which covers %(start)s to %(auth_end)s.")
                % {"end": _d(end), "auth": label, "start": _d(f.start_date),
                   "auth_end": _d(f.end_date)},
                on_date=max(f.end_date + timedelta(days=1), start), authorization_id=f.id))
        units = offered.get(f.id, Decimal(0))
        total = f.used + f.scheduled + units
        if units and total > f.units_authorized:
            warnings.append(BookingWarning(
                message=_("Authorization %(auth)s: %(used)s used + %(scheduled)s scheduled + "
                          "%(adding)s the timetable offers from %(start)s = %(total)s %(unit)s "
                          "units, over the %(authorized)s authorized by %(over)s.")
                % {"auth": label, "used": _figure(f.used), "scheduled": _figure(f.scheduled),
                   "adding": _figure(units), "start": _d(start), "total": _figure(total),
                   "unit": f.get_unit_display().lower(), "authorized": f.units_authorized,
                   "over": _figure(total - f.units_authorized)},
                on_date=start, authorization_id=f.id))
    return warnings


def _timetable_units(*, track, figures, admission: date, planned_end: date) -> dict:
    """Per authorization, the units the track's scheduled sessions of its code offer within
    both the planned stay and the authorization's dates. One query."""
    if not figures:
        return {}
    rows = list(TherapySession.objects.filter(
        track=track, status=SessionStatus.SCHEDULED, local_date__gte=admission,
        local_date__lte=planned_end,
        session_type__service_code__in={f.service_code for f in figures})
        .values_list("local_date", "session_type__service_code", "starts_at", "ends_at"))
    units = {}
    for f in figures:
        mine = [r for r in rows if r[1] == f.service_code
                and f.start_date <= r[0] <= f.end_date]
        if f.unit == AuthorizationUnit.DAY:
            units[f.id] = Decimal(len({r[0] for r in mine}))
        elif f.unit == AuthorizationUnit.SESSION:
            units[f.id] = Decimal(len(mine))
        else:
            minutes = sum((r[3] - r[2]).total_seconds() / 60 for r in mine)
            units[f.id] = (Decimal(minutes) / 60).quantize(Decimal("0.01"))
    return units
