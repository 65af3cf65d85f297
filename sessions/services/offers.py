"""A participant answers a seat offer themselves: signed in to the portal, or through the
one-time link sent to someone without a portal login.

Accepting admits through `enrollment_admit_from_waitlist` (capacity, cohort and one-active
rules, audit); declining passes the seat on through `enrollment_decline_offer`, keeping the
person on the waitlist at the back (as when an offer runs out: staff withdraw them if they no
longer want a place). Either way every link to the offer is spent in the same transaction, so
a rule that refuses the answer leaves the link usable and nothing half-written.
"""
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from participants.models import Enrollment, EnrollmentStatus, Participant, PortalLink
from participants.portal_accounts import seat_offer_link_use, seat_offer_links_spend

from .enrollment import enrollment_admit_from_waitlist, enrollment_decline_offer

OFFER_CLOSED = gettext_lazy("This offer is no longer open.")


def offer_is_open(enrollment: Enrollment, *, now: datetime,
                  offered_by: datetime | None = None) -> bool:
    """Waitlisted, offered a seat, within the program's hours; and, for a link, offered no
    later than `offered_by` (the link's creation: a later offer needs a later link)."""
    if enrollment.status != EnrollmentStatus.WAITLISTED or enrollment.seat_offered_at is None:
        return False
    if offered_by is not None and enrollment.seat_offered_at > offered_by:
        return False
    hours = enrollment.track.program.seat_offer_hours
    return enrollment.seat_offered_at + timedelta(hours=hours) > now


def _answer(enrollment: Enrollment, *, accept: bool, by) -> Enrollment:
    if accept:
        return enrollment_admit_from_waitlist(enrollment=enrollment, by=by)
    return enrollment_decline_offer(enrollment=enrollment, keep_on_waitlist=True, by=by)


def seat_offer_answer(*, participant: Participant, enrollment_id: int, accept: bool,
                      by) -> Enrollment:
    """The signed-in participant accepts or declines their own open offer.
    Codes: offer_closed, and the admit/decline services' codes."""
    with transaction.atomic():
        enrollment = (Enrollment.objects.select_related("track__program")
                      .filter(pk=enrollment_id, participant=participant).first())
        if enrollment is None or not offer_is_open(enrollment, now=timezone.now()):
            raise ValidationError(OFFER_CLOSED, code="offer_closed")
        enrollment = _answer(enrollment, accept=accept, by=by)
        seat_offer_links_spend(enrollment_id=enrollment.pk)
    return enrollment


def seat_offer_answer_by_link(*, token: str, accept: bool) -> PortalLink:
    """Accept or decline through a one-time link (no sign-in): spends the link and every other
    link to the offer. Codes: link_invalid, offer_closed, and the admit/decline codes."""
    with transaction.atomic():
        link = seat_offer_link_use(token=token)
        enrollment = Enrollment.objects.select_related("track__program").get(
            pk=link.enrollment_id)
        if not offer_is_open(enrollment, now=timezone.now(), offered_by=link.created_at):
            raise ValidationError(OFFER_CLOSED, code="offer_closed")
        link.enrollment = _answer(enrollment, accept=accept, by=None)
    return link
