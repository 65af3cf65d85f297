"""The stays not over by a day: "discharged on or after it, or not discharged and planned to end
on or after it", asked as the one expression `enrollment_ends_idx` indexes (participants 0008),
so the attendance report's below-minimum list reads the stays in care from the index, not every
stay the clinic ever had."""
import datetime as dt

import pytest
from django.db import connection, transaction

from participants.models import Enrollment, Participant
from reports.selectors import ReportScope, _below_enrollments
from tests import factories

MONDAY = dt.date(2026, 3, 2)
SUNDAY = MONDAY + dt.timedelta(days=6)


def _stays(site):
    """Stays of one track admitted well before MONDAY, ending either side of SUNDAY."""
    track = factories.TrackFactory(site=site, start_date=dt.date(2026, 1, 5))

    def stay(label, **fields):
        return label, factories.EnrollmentFactory(track=track, **fields)

    return dict([
        stay("planned past the week", planned_end_date=dt.date(2026, 3, 29)),
        stay("planned to end on the Sunday", planned_end_date=SUNDAY),
        stay("planned to end on the Saturday", planned_end_date=SUNDAY - dt.timedelta(days=1)),
        stay("discharged on the Sunday", status="discharged", discharge_date=SUNDAY,
             discharge_reason="completed", planned_end_date=SUNDAY - dt.timedelta(days=3)),
        stay("discharged midweek, planned past it", status="discharged",
             discharge_date=MONDAY + dt.timedelta(days=2), discharge_reason="transferred",
             planned_end_date=dt.date(2026, 3, 29)),
        stay("completed long before", status="completed", discharge_date=dt.date(2026, 2, 1),
             discharge_reason="completed", planned_end_date=dt.date(2026, 2, 1)),
    ])


@pytest.mark.django_db
def test_the_weeks_stays_are_those_not_over_before_its_sunday(site):
    stays = _stays(site)
    scope = ReportScope(site_ids=(site.pk,), date_from=MONDAY, date_to=SUNDAY, today=SUNDAY)

    found = {row["id"] for row in _below_enrollments(scope, MONDAY, SUNDAY)}

    assert found == {stays[label].pk for label in (
        "planned past the week", "planned to end on the Sunday", "discharged on the Sunday")}


@pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_the_stays_not_over_are_read_from_the_index_of_their_ends(site):
    stays = _stays(site)
    # The track's history, as a clinic's: stays that ended long before, which only the index
    # of the ends leaves unread (the track's own index would read them all).
    track = stays["planned past the week"].track
    people = Participant.objects.bulk_create(
        factories.ParticipantFactory.build(home_site=site) for _ in range(300))
    Enrollment.objects.bulk_create(
        Enrollment(participant=person, track=track, status="completed",
                   admission_date=dt.date(2025, 1, 6), planned_end_date=dt.date(2025, 3, 30),
                   discharge_date=dt.date(2025, 3, 30), discharge_reason="completed")
        for person in people)
    scope = ReportScope(site_ids=(site.pk,), date_from=MONDAY, date_to=SUNDAY, today=SUNDAY)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {Enrollment._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        # A few rows would be read whole anyway; forbid reading the whole table.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = _below_enrollments(scope, MONDAY, SUNDAY).explain()
    assert "enrollment_ends_idx" in plan, plan
