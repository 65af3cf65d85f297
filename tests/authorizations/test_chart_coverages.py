"""The chart reads its enrollments' payers through a statement compiled once per process and
number of enrollments (authorizations/selectors.py `_chart_coverages`): the coverages and payers
the ORM queryset read, whatever the number of enrollments and whichever have none."""
import pytest

from authorizations.models import Coverage, Payer
from authorizations.selectors import _chart_coverages
from tests import factories

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _built(coverage) -> dict:
    return {"coverage": _fields(coverage), "payer": _fields(coverage.payer)}


def test_it_reads_what_the_queryset_read(django_assert_num_queries):
    payers = [Payer.objects.create(name="Plan A (invented)", requires_authorization=True),
              Payer.objects.create(name="Plan B (invented)", phone="555-0100")]
    enrollments = [factories.EnrollmentFactory() for _ in range(4)]
    for n, enrollment in enumerate(enrollments[:3]):  # the last has no payer
        Coverage.objects.create(enrollment=enrollment, payer=payers[n % 2], member_id=f"M-{n}")
    Coverage.objects.create(enrollment=factories.EnrollmentFactory(), payer=payers[0])

    for count in (1, 2, 4):
        ids = [e.pk for e in enrollments[-count:]]
        expected = Coverage.objects.filter(enrollment_id__in=ids).select_related("payer")
        with django_assert_num_queries(1):
            built = {c.enrollment_id: _built(c) for c in _chart_coverages(ids)}
        assert built == {c.enrollment_id: _built(c) for c in expected}
        assert len(built) == count - 1
