"""Writes of payer authorizations: record or change one, set an enrollment's payer, record that
staff went ahead past an authorization warning, and store usage derived from attendance. One
transaction each; django-auditlog records every row but the derived usage (audit/registry.py)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from iop_clinic.prepared import execute
from participants.models import Enrollment, EnrollmentStatus
from programs.models import Site

from .selectors import usage_sql
from .models import (
    Authorization,
    AuthorizationOverride,
    AuthorizationStatus,
    AuthorizationUsage,
    Coverage,
    OverrideAction,
    Payer,
)

# Fields staff may set; usage is never among them (it comes from attendance).
AUTHORIZATION_FIELDS = ("payer", "member_id", "number", "level_of_care", "unit", "service_code",
                        "units_authorized", "start_date", "end_date", "next_review_date",
                        "status", "note")


def _check(authorization: Authorization) -> None:
    errors = {}
    if authorization.start_date and authorization.end_date \
            and authorization.end_date < authorization.start_date:
        errors["end_date"] = ValidationError(_("The last day covered is before the first."),
                                             code="end_before_start")
    if authorization.next_review_date and authorization.start_date \
            and authorization.next_review_date < authorization.start_date:
        errors["next_review_date"] = ValidationError(
            _("The review date is before the first day covered."), code="review_before_start")
    if not authorization.units_authorized or authorization.units_authorized <= 0:
        errors["units_authorized"] = ValidationError(_("Authorize at least one unit."),
                                                     code="no_units")
    if authorization.status == AuthorizationStatus.APPROVED and not authorization.number.strip():
        errors["number"] = ValidationError(_("An approved authorization needs its number."),
                                           code="approved_without_number")
    if authorization.number.strip() and Authorization.objects.filter(
            payer_id=authorization.payer_id, number=authorization.number.strip()).exclude(
            pk=authorization.pk).exists():
        errors["number"] = ValidationError(_("This payer already has an authorization with "
                                             "this number."), code="duplicate_number")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def authorization_save(*, enrollment: Enrollment, by: Any = None,
                       authorization: Authorization | None = None,
                       **values: Any) -> Authorization:
    """Record a new authorization for `enrollment`, or change `authorization`."""
    unknown = set(values) - set(AUTHORIZATION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown authorization fields: {sorted(unknown)}")
    if authorization is None:
        authorization = Authorization(enrollment=enrollment, created_by=by)
    elif authorization.enrollment_id != enrollment.pk:
        raise ValidationError(_("That authorization belongs to another enrollment."),
                              code="wrong_enrollment")
    for name, value in values.items():
        setattr(authorization, name, value.strip() if isinstance(value, str) else value)
    _check(authorization)
    try:
        with transaction.atomic():
            authorization.save()
    except IntegrityError as error:  # a race the checks above could not see
        raise ValidationError(_("The authorization could not be saved: %(error)s")
                              % {"error": error}, code="integrity") from error
    # Its own usage, and that of the others of the enrollment (one may now supersede them).
    authorization_usage_refresh(participant_ids=[enrollment.participant_id])
    return authorization


@transaction.atomic
def coverage_set(*, enrollment: Enrollment, payer: Payer | None, member_id: str = "") -> Coverage | None:
    """Set (or, with no payer, clear) the payer an enrollment is billed to."""
    current = Coverage.objects.filter(enrollment=enrollment).first()
    if payer is None:
        if current is not None:
            current.delete()
        return None
    if current is None:
        current = Coverage(enrollment=enrollment)
    current.payer = payer
    current.member_id = member_id.strip()
    current.save()
    return current


@transaction.atomic
def authorization_override_record(*, enrollment: Enrollment, action: OverrideAction | str,
                                  warning: str, on_date: date, by: Any = None,
                                  authorization_id: int | None = None) -> AuthorizationOverride:
    """Record that `by` went ahead past an authorization warning (audited)."""
    return AuthorizationOverride.objects.create(
        enrollment=enrollment, authorization_id=authorization_id, action=action,
        warning=warning[:300], on_date=on_date, created_by=by)


def authorization_overrides_record(*, enrollment: Enrollment, action: OverrideAction | str,
                                   warnings: Iterable[Any], by: Any = None) -> None:
    """Record each of `warnings` (the selectors' BookingWarning: a message, its date and the
    authorization it concerns) that `by` went past with `action`, one audited row each."""
    for warning in warnings:
        authorization_override_record(
            enrollment=enrollment, action=action, warning=warning.message,
            on_date=warning.on_date, by=by, authorization_id=warning.authorization_id)


def authorization_usage_refresh(*, today: date | None = None,
                                participant_ids: Iterable[int] | None = None,
                                authorization_ids: Iterable[int] | None = None) -> int:
    """Store the usage of the authorizations of these participants (or these authorizations,
    or, with neither, of every active enrollment) as derived from attendance now. Without
    `today`, each site's own date counts (an evening session in New York is still ahead when
    it is already tomorrow in UTC): one statement per time zone. Returns the rows written."""
    if participant_ids is not None:
        ids = tuple(sorted({int(pk) for pk in participant_ids}))
        if not ids:
            return 0
        where, params = "e.participant_id IN %s", (ids,)
    elif authorization_ids is not None:
        ids = tuple(sorted({int(pk) for pk in authorization_ids}))
        if not ids:
            return 0
        where, params = "au.id IN %s", (ids,)
    else:
        where, params = "e.status = %s", (EnrollmentStatus.ACTIVE.value,)
    if today is not None:
        return _usage_store(where, params, today=today)
    zones: dict[str, list[int]] = defaultdict(list)
    for pk, zone in Site.objects.values_list("pk", "time_zone"):
        zones[zone].append(pk)
    now = timezone.now()
    return sum(_usage_store(f"{where} AND t.site_id IN %s", (*params, tuple(site_ids)),
                            today=now.astimezone(ZoneInfo(zone)).date())
               for zone, site_ids in zones.items())


def _usage_store(where: str, params: tuple, *, today: date) -> int:
    # Prepared once a connection (its str values are the code's statuses and the billing rules'
    # codes, never a person's text): the statement is long, and PostgreSQL planned it afresh
    # after every mark: 2.3-3.0 ms of planning for 1.8-2.2 ms of execution at 2,000 participants;
    # its generic plan, kept from the sixth run, executes as fast (1.9-2.0 ms). Prepared only
    # outside a transaction (as after a mark's commit); inside one it runs plainly.
    usage, usage_params = usage_sql(where, params, today=today)
    table = AuthorizationUsage._meta.db_table
    columns = "used, scheduled, over_from, runs_out_on, after_end, after_end_from"
    with connection.cursor() as cursor:
        execute(
            cursor,
            f"INSERT INTO {table} (authorization_id, {columns}, as_of, refreshed_at) "
            f"SELECT u.*, %s, %s FROM ({usage}) u "
            # SQLite reads ON after a SELECT's FROM as a join's unless a WHERE comes between.
            + ("" if connection.vendor == "postgresql" else "WHERE true ") +
            "ON CONFLICT (authorization_id) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*columns.split(", "), "as_of",
                                                         "refreshed_at")),
            (today, timezone.now(), *usage_params))
        return cursor.rowcount
