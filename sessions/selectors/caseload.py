"""The caseload list: participants with their current enrollment, filtered and sorted."""
from collections.abc import Callable, Collection
from functools import cache

from django.db import connections, router
from django.db.models import (BooleanField, Case, Exists, F, Func, IntegerField, OuterRef, Q,
                              QuerySet, Subquery, Value, When)

from iop_clinic.compiled import CompiledQuery, compile_pages, id_sentinels
from participants.models import Enrollment, EnrollmentStatus, Participant
from programs.models import Site

from .pages import participant_search, search_words, staff_menu_rows, track_menu_rows

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


def _seat_rank() -> Case:
    return Case(When(status__in=EnrollmentStatus.seat_holding(), then=Value(0)),
                default=Value(1), output_field=IntegerField())


def _current_enrollment() -> QuerySet[Enrollment]:
    """The enrollment a row shows, of the participant of the outer query, first."""
    return (Enrollment.objects.filter(participant=OuterRef("pk"))
            .alias(seat_rank=_seat_rank()).order_by(*_SEAT_FIRST))


def _participants_currently(status: str) -> QuerySet[Enrollment]:
    """The ids of the participants whose current enrollment (`_current_enrollment`'s first)
    has this status: their enrollments of that status that no other of theirs comes before
    in `_SEAT_FIRST`'s order. Whoever is currently X has an enrollment of status X, so only
    those are looked at, each against its participant's others, in one pass."""
    ahead = (Enrollment.objects.filter(participant=OuterRef("participant"))
             .alias(seat_rank=_seat_rank())
             .filter(Q(seat_rank__lt=OuterRef("seat_rank"))
                     | Q(seat_rank=OuterRef("seat_rank"),
                         admission_date__gt=OuterRef("admission_date"))
                     | Q(seat_rank=OuterRef("seat_rank"),
                         admission_date=OuterRef("admission_date"), pk__gt=OuterRef("pk"))))
    return (Enrollment.objects.alias(seat_rank=_seat_rank())
            .filter(status=status).filter(~Exists(ahead)).values("participant_id"))


class _ScanFilter(Func):
    """A condition the database checks on each row of the scan it is written for, rather than
    one PostgreSQL may turn into a join: its `IN (subquery)` stays a hashed set, read once.

    For the status filter: as a join, the planner drives from the status's participants and
    fetches each one (with the access rule's EXISTS, costed as if run per row) by its key, ~5
    buffers a participant, where one scan of the sites' participants reads each page once."""
    template = "(%(expressions)s) IS TRUE"
    output_field = BooleanField()


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
        # Filtering on the current status subquery ran it for every participant the sites
        # ever had: 6,068 buffers for the count at 2,000 participants, 24,198 with six months
        # of history; 163 and 650 this way (bench/explain.py's clinics).
        queryset = queryset.filter(_ScanFilter(Q(pk__in=_participants_currently(status))))
    if clinician_id:
        queryset = queryset.filter(primary_clinician_id=clinician_id)
    if only_ids is not None:
        queryset = queryset.filter(pk__in=sorted(only_ids))
    return queryset.order_by(*SORTS.get(sort, SORTS["name"])).values(*CASELOAD_FIELDS)


# What the compiled caseload statements are compiled with, in place of a request's values (no
# id is negative; the words and the status are no one's text).
_ANY_ID = {"site": -(2**31), "track": -(2**31) + 1, "clinician": -(2**31) + 2}
_ANY_STATUS = "any-status-f3a9"
_ANY_WORD = "anyword{}x7q"


@cache
def _caseload_statements(scope: Callable[[list[int]], QuerySet[Participant]], alias: str,
                         vendor: str, shape: tuple) -> tuple[CompiledQuery, CompiledQuery,
                                                             tuple[str, ...]]:
    """The caseload's count and page statements for one shape of request (how many sites and
    search words; whether a site, track, status or clinician is chosen; the sort), compiled by
    the ORM once per process (iop_clinic.compiled) from `caseload` itself, with its field
    names. Building and compiling the access rule, the search and the three current-enrollment
    subqueries was about a third of the page's Python, more than running them; every value is
    a parameter, so the statements can't go stale."""
    sites, words, site, track, status, clinician, sort = shape
    site_ids, sentinels = id_sentinels("sites", sites)
    like = connections[alias].ops.prep_for_like_query
    participants = scope(site_ids).using(alias)
    if words:
        participants = participant_search(
            participants=participants,
            query=" ".join(_ANY_WORD.format(n) for n in range(words)))
        sentinels.update({f"%{like(_ANY_WORD.format(n))}%": ("words", n) for n in range(words)})
    chosen = {name: _ANY_ID[name] if chosen else None
              for name, chosen in (("site", site), ("track", track), ("clinician", clinician))}
    sentinels.update({_ANY_ID[name]: name for name, value in chosen.items() if value})
    if status:
        sentinels[_ANY_STATUS] = "status"
    queryset = caseload(participants=participants, site_id=chosen["site"],
                        track_id=chosen["track"], clinician_id=chosen["clinician"],
                        status=_ANY_STATUS if status else "", sort=sort)
    query = queryset.query
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    count, page = compile_pages(queryset, sentinels, alias=alias, what="caseload")
    return count, page, names


class CaseloadPages:
    """The caseload's rows for Django's Paginator, each read with the statements of
    `_caseload_statements`: `count()` and a slice (a page) are what a Paginator asks of a
    list; each is one query, as the queryset's count and slice were."""

    def __init__(self, *, scope: Callable[[list[int]], QuerySet[Participant]],
                 site_ids: list[int], query: str = "", site_id: int | None = None,
                 track_id: int | None = None, status: str = "",
                 clinician_id: int | None = None, sort: str = "name") -> None:
        words = search_words(query)
        alias = router.db_for_read(Participant)
        like = connections[alias].ops.prep_for_like_query
        shape = (len(site_ids), len(words), bool(site_id), bool(track_id), bool(status),
                 bool(clinician_id), sort if sort in SORTS else "name")
        self._count, self._page, self._names = _caseload_statements(
            scope, alias, connections[alias].vendor, shape)
        self._values = {"sites": list(site_ids), "words": [f"%{like(w)}%" for w in words],
                        "site": site_id, "track": track_id, "status": status,
                        "clinician": clinician_id}

    def count(self) -> int:
        return self._count.rows(self._values)[0][0]

    def __getitem__(self, page: slice) -> list[dict]:
        start, stop = page.start or 0, page.stop
        rows = self._page.rows({**self._values, "limit": stop - start, "offset": start})
        names = self._names
        return [dict(zip(names, row, strict=True)) for row in rows]


def caseload_rows(*, scope: Callable[[list[int]], QuerySet[Participant]], site_ids: list[int],
                  query: str = "", only_ids: Collection[int] | None = None,
                  site_id: int | None = None, track_id: int | None = None, status: str = "",
                  clinician_id: int | None = None, sort: str = "name"
                  ) -> "CaseloadPages | QuerySet[Participant]":
    """The caseload of `scope(site_ids)` (the participants these sites may see), searched for
    `query`'s words and filtered, for a Paginator: through the statements compiled once a
    process (CaseloadPages), or, for `only_ids` (whose count varies) or no site, `caseload`'s
    queryset. The same rows either way."""
    chosen = {"site_id": site_id, "track_id": track_id, "status": status,
              "clinician_id": clinician_id, "sort": sort}
    if site_ids and only_ids is None:
        return CaseloadPages(scope=scope, site_ids=site_ids, query=query, **chosen)
    participants = scope(site_ids)
    if query:
        participants = participant_search(participants=participants, query=query)
    return caseload(participants=participants, only_ids=only_ids, **chosen)


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
