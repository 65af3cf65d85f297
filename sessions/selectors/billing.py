"""The one definition of a billing unit: how a service code turns attended time into units.

The billing report (reports) and payer authorizations (authorizations) both count units with
it, so "a day counts when it meets the code's minimum minutes" is written once, here, as SQL
fragments each of them puts in its own query:

- `rules_cte()` is a `rules(code, unit, min_minutes)` common table expression holding
  settings.REPORT_BILLING_RULES;
- `day_counts_sql(minutes, rule)` is true when a day's minutes meet the code's day rule
  (a day with no attended minutes never counts; a code without a day rule needs no minimum);
- `units_sql(minutes, sessions, rule)` is the units one day of one code yields under its rule:
  per-diem codes one unit per day meeting the minimum, every other code one unit per session.

Both take `per_minute`, the units `minutes` is counted in: the billing report sums whole
microseconds (`MICROSECONDS_PER_MINUTE`), exact integers, instead of fractional minutes.

`unit_case_sql(code)` and `units_case_sql(code, minutes, sessions)` are the same rules written
inline, as a CASE on the service code with the rules as params, for a query that would
otherwise join `rules` to every one of tens of thousands of rows (the rules are few, and known
when the query is built): `COALESCE(r.unit, 'session')` and `units_sql(...)` without the join.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class BillingRule:
    """How a service code turns attended time into units.

    unit "day": one unit per day with at least `min_minutes` attended at sessions of that code
    (e.g. H0015: a day with 3 hours or more of treatment). unit "session": one unit per attended
    session (e.g. 90853 group psychotherapy). Codes without a rule bill per session.
    """

    code: str
    unit: str = "session"
    min_minutes: int = 0


def billing_rules() -> list[BillingRule]:
    return [BillingRule(code=code, **rule)
            for code, rule in getattr(settings, "REPORT_BILLING_RULES", {}).items()]


def rules_cte() -> tuple[str, tuple]:
    """`rules(code, unit, min_minutes) AS (VALUES ...)`, to follow a WITH, and its params."""
    rules = billing_rules()
    # Typed when empty: an untyped NULL is text, and COALESCE(min_minutes, 0) would not parse.
    # CAST, not `::`: SQLite (`make run`) has no `::`.
    values = (", ".join(["(%s, %s, %s)"] * len(rules))
              or "(CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS integer))")
    params = tuple(p for r in rules for p in (r.code, r.unit, r.min_minutes))
    return f"rules(code, unit, min_minutes) AS (VALUES {values})", params


MICROSECONDS_PER_MINUTE = 60_000_000


def day_counts_sql(minutes: str, rule: str = "r", *, per_minute: int = 1) -> str:
    """SQL true when a day with `minutes` of a code meets its day rule (alias `rule`);
    `minutes` is counted in 1/`per_minute` minutes."""
    minimum = f"COALESCE(CASE WHEN {rule}.unit = 'day' THEN {rule}.min_minutes END, 0)"
    if per_minute != 1:
        minimum = f"({minimum}::bigint * {int(per_minute)})"
    return f"({minutes} > 0 AND {minutes} >= {minimum})"


def units_sql(minutes: str, sessions: str, rule: str = "r", *, per_minute: int = 1) -> str:
    """SQL for the billing units of one day of one code: its rule's unit decides."""
    counts = day_counts_sql(minutes, rule, per_minute=per_minute)
    return f"(CASE WHEN {rule}.unit = 'day' THEN ({counts})::int ELSE {sessions} END)"


def unit_case_sql(code: str) -> tuple[str, tuple]:
    """SQL for the unit ('day' or 'session') of the service code `code` under the rules, as
    `COALESCE(r.unit, 'session')` joined to `rules_cte()`, and its params."""
    rules = billing_rules()
    if not rules:
        return "'session'", ()
    whens = " ".join(["WHEN %s THEN %s"] * len(rules))
    return (f"(CASE {code} {whens} ELSE 'session' END)",
            tuple(p for r in rules for p in (r.code, r.unit)))


def units_case_sql(code: str, minutes: str | Sequence[str], sessions: str, *,
                   per_minute: int = 1) -> tuple[str, tuple]:
    """SQL for the billing units of one day of the service code `code`, as `units_sql` joined
    to `rules_cte()`, and its params: per-diem codes one unit when the day meets the minimum
    (`day_counts_sql`: some minutes, and at least the minimum), every other code its sessions.
    `minutes` may be several days' minutes (a week's days, by day): per-diem codes then one
    unit for each day that meets the minimum, `sessions` being the days' sessions."""
    day_rules = [r for r in billing_rules() if r.unit == "day"]
    if not day_rules:
        return sessions, ()
    days = [minutes] if isinstance(minutes, str) else list(minutes)
    counts = " + ".join(f"({day} > 0 AND {day} >= %s)::int" for day in days)
    whens = " ".join([f"WHEN %s THEN {counts}" if len(days) == 1
                      else f"WHEN %s THEN ({counts})"] * len(day_rules))
    return (f"(CASE {code} {whens} ELSE {sessions} END)",
            tuple(p for r in day_rules
                  for p in (r.code, *[int(r.min_minutes) * int(per_minute)] * len(days))))
