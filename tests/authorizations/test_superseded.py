"""A later authorization takes over: the expired and after-the-end alerts of the one it
supersedes go, on Today (stored usage) and on the chart (live usage) alike.

The query looks for a later authorization only where the rule asks (an authorization that has
ended or has units scheduled after its end); this checks every such case against the rule
written in Python."""
import datetime as dt
import itertools

import pytest

from authorizations.selectors import AlertKind, authorization_alerts, authorization_figures
from authorizations.services import authorization_usage_refresh
from tests.authorizations.world import MONDAY, TODAY, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ENDS = {"ended": TODAY - dt.timedelta(days=1), "current": MONDAY + dt.timedelta(days=11)}
# Another authorization of the same enrollment: (status, days its end is after ours, code).
OTHERS = [None, ("approved", 20, "H0015"), ("requested", 20, "H0015"), ("denied", 20, "H0015"),
          ("approved", -1, "H0015"), ("approved", 0, "H0015"), ("approved", 20, "90853")]


def expected_kinds(*, end: dt.date, after_end: bool, other) -> list[str]:
    """The alert rule for these two kinds, from the definition of superseded."""
    superseded = other is not None and (
        other[0] in ("approved", "requested") and other[2] == "H0015" and other[1] > 0)
    if end < TODAY:
        return [] if superseded else [AlertKind.EXPIRED]
    return [AlertKind.AFTER_END] if after_end and not superseded else []


def test_a_later_authorization_clears_exactly_the_alerts_the_rule_says():
    first = build_world(alert_units=0)
    cases = []
    for (name, end), after_end, other in itertools.product(ENDS.items(), (False, True), OTHERS):
        w = first if not cases else build_world(alert_units=0, site=first.site)
        auth = w.authorize(end_date=end)
        if after_end:
            w.attend(MONDAY + dt.timedelta(days=14), "expected")
        if other is not None:
            status, later, code = other
            w.authorize(number=f"OTHER-{len(cases)}", status=status, end_date=end + dt.timedelta(days=later),
                        service_code=code)
        cases.append((auth, expected_kinds(end=end, after_end=after_end, other=other),
                      (name, after_end, other)))
    authorization_usage_refresh(today=TODAY)

    stored = authorization_alerts(site_ids=[first.site.pk], today=TODAY)
    live = authorization_figures(enrollment_ids=[a.enrollment_id for a, _, _ in cases],
                                 today=TODAY)
    live_kinds = {row.id: [alert.kind for alert in row.alerts] for row in live}
    for auth, kinds, case in cases:
        assert [a.kind for a in stored if a.authorization_id == auth.pk] == kinds, case
        assert live_kinds[auth.pk] == kinds, case
    assert sum(len(kinds) for _, kinds, _ in cases) >= 6  # the cases raise some, clear others
