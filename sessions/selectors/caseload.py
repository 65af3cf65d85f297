"""The caseload list: participants with their current enrollment, filtered and sorted."""
from collections.abc import Collection

from django.db.models import Case, F, IntegerField, OuterRef, QuerySet, Subquery, Value, When

from participants.models import Enrollment, EnrollmentStatus, Participant
from programs.models import Site

from .pages import staff_menu_rows, track_menu_rows

# The enrollment a participant's row shows: the one holding a seat, else the latest.
_SEAT_FIRST = ("seat_rank", "-admission_date", "-pk")

# What a caseload row shows: participants built with their home site and clinician (three
# model instances a row, thirty columns each) cost more than the subqueries that find their
# current enrollment.
CASELOAD_FIELDS = ("code", "first_name", "last_name", "record_number", "home_site__name",
                   "primary_clinician__first_name", "primary_clinician__last_name",
                   "current_status", "current_track", "current_admission")

SORTS = {
    "name": ("last_name", "first_name", "pk"),
    "record": ("record_number", "pk"),
    "admitted": (F("current_admission").desc(nulls_last=True), "last_name", "pk"),
    "site": ("home_site__name", "last_name", "first_name", "pk"),
}


def _current_enrollment() -> QuerySet[Enrollment]:
    """The enrollment a row shows, of the participant of the outer query, first."""
    return (Enrollment.objects.filter(participant=OuterRef("pk"))
            .alias(seat_rank=Case(When(status__in=EnrollmentStatus.seat_holding(),
                                       then=Value(0)),
                                  default=Value(1), output_field=IntegerField()))
            .order_by(*_SEAT_FIRST))


def caseload(*, participants: QuerySet[Participant], site_id: int | None = None,
             track_id: int | None = None, status: str = "", clinician_id: int | None = None,
             only_ids: Collection[int] | None = None, sort: str = "name",
             ) -> QuerySet[Participant]:
    """One dict of CASELOAD_FIELDS per participant (`current_status`, `current_track` and
    `current_admission` are those of the enrollment holding a seat, else the latest).

    `only_ids` keeps just those participants (e.g. the ledger's people at risk this week).

    Subqueries rather than a join: a participant with five enrollments is still one row, and
    the page costs the same two queries (count and page) at any size.
    """
    # One queryset for the subqueries: building it is most of their cost in Python.
    current = _current_enrollment()
    queryset = (participants
                .annotate(current_status=Subquery(current.values("status")[:1]),
                          current_track=Subquery(current.values("track__name")[:1]),
                          current_admission=Subquery(current.values("admission_date")[:1])))
    if site_id:
        queryset = queryset.filter(home_site_id=site_id)
    if track_id:
        # Only to filter on: each subquery compiled is a tenth of the page's Python. Whoever is
        # currently on the track has an enrollment on it: found first through the enrollments'
        # track index, the current-enrollment subquery runs for the track's few people rather
        # than for everyone at the site (13 -> 0.6 ms at 2,000 participants).
        queryset = queryset.filter(
            pk__in=Enrollment.objects.filter(track_id=track_id).values("participant_id"),
        ).alias(
            current_track_id=Subquery(current.values("track_id")[:1])
        ).filter(current_track_id=track_id)
    if status:
        queryset = queryset.filter(current_status=status)
    if clinician_id:
        queryset = queryset.filter(primary_clinician_id=clinician_id)
    if only_ids is not None:
        queryset = queryset.filter(pk__in=sorted(only_ids))
    return queryset.order_by(*SORTS.get(sort, SORTS["name"])).values(*CASELOAD_FIELDS)


def caseload_filter_choices(*, site_ids: list[int]) -> dict:
    """What the caseload's menus list, as named tuples of the columns their labels show: my
    sites (None at one site, where there is nothing to choose), their tracks ("program —
    name") and their active staff (full name or username)."""
    return {
        "sites": (list(Site.objects.filter(pk__in=site_ids).order_by("name")
                       .values_list("pk", "name", named=True))
                  if len(site_ids) > 1 else None),
        "tracks": track_menu_rows(site_ids=site_ids),
        "clinicians": staff_menu_rows(site_ids=site_ids),
    }
