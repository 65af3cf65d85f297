"""Writes of payer authorizations: record or change one, set an enrollment's payer, and record
that staff went ahead past an authorization warning. One transaction each; django-auditlog
records every row (audit/registry.py)."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from participants.models import Enrollment

from .models import (
    Authorization,
    AuthorizationOverride,
    AuthorizationStatus,
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
