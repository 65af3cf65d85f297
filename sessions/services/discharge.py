"""Discharge with the continuing-care plan's first follow-up appointments, in one pass."""
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction

from participants.models import ContinuingCarePlan, Enrollment
from programs.models import SessionType

from .enrollment import enrollment_discharge
from .schedule import personal_session_schedule


def enrollment_discharge_with_followups(
    *,
    enrollment: Enrollment,
    discharge_date: date,
    reason: str,
    note: str = "",
    care_plan: dict[str, Any] | None = None,
    followups: Sequence[tuple[SessionType, datetime]] = (),
    facilitator: Any = None,
    by: Any = None,
) -> Enrollment:
    """`enrollment_discharge`, then book each (session type, local start) follow-up against the
    care plan. All or nothing: a follow-up that clashes or falls on a closure undoes the discharge,
    so staff fix the time and submit once more."""
    with transaction.atomic():
        enrollment_discharge(enrollment=enrollment, discharge_date=discharge_date, reason=reason,
                             note=note, care_plan=care_plan or {}, by=by)
        if followups:
            plan = ContinuingCarePlan.objects.get(enrollment=enrollment)
            for session_type, starts_at_local in followups:
                personal_session_schedule(
                    participant=enrollment.participant, session_type=session_type,
                    starts_at_local=starts_at_local, facilitator=facilitator, care_plan=plan)
    return enrollment
