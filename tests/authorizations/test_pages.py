"""The chart's Authorizations section, its forms, the review packet and the ending report."""
import datetime as dt
import re

import pytest
from django.urls import reverse

from authorizations.models import Authorization, Coverage
from authorizations.services import authorization_usage_refresh
from tests.authorizations.world import MONDAY, TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


def form_data(w, **changes):
    data = {"payer": w.payer.pk, "member_id": "M-77", "number": "PA-500", "status": "approved",
            "level_of_care": "2.1", "unit": "day", "service_code": "h0015",
            "units_authorized": "12", "start_date": "2026-02-02", "end_date": "2026-03-01",
            "next_review_date": "2026-02-20", "note": "Concurrent review by phone."}
    data.update(changes)
    return data


def test_it_lets_front_desk_record_an_authorization_and_shows_its_usage(w, as_front_desk):
    w.attend(day(0))
    w.attend(day(1))
    w.attend(day(9), "expected")

    response = as_front_desk.post(reverse("authorization_new", args=[w.enrollment.pk]),
                                  form_data(w))

    assert response.status_code == 302
    saved = Authorization.objects.get()
    assert (saved.number, saved.service_code, saved.units_authorized) == ("PA-500", "H0015", 12)
    chart = as_front_desk.get(reverse("participant_chart", args=[w.participant.code])).text
    section = chart.split('id="authorizations-heading"')[1].split('id="ledger-heading"')[0]
    assert "PA-500" in section
    assert '<td class="text-end units-used">2</td>' in section
    assert '<td class="text-end units-scheduled">1</td>' in section
    assert '<td class="text-end units-left">10</td>' in section


def test_it_shows_field_errors_and_writes_nothing_on_bad_input(w, as_front_desk):
    response = as_front_desk.post(reverse("authorization_new", args=[w.enrollment.pk]),
                                  form_data(w, end_date="2026-01-01", units_authorized="0"))

    assert response.status_code == 200
    form = response.context["form"]
    assert "units_authorized" in form.errors
    response = as_front_desk.post(reverse("authorization_new", args=[w.enrollment.pk]),
                                  form_data(w, end_date="2026-01-01"))
    assert "The last day covered is before the first." in response.context["form"].errors[
        "end_date"]
    response = as_front_desk.post(reverse("authorization_new", args=[w.enrollment.pk]),
                                  form_data(w, number=""))
    assert "An approved authorization needs its number." in response.context["form"].errors[
        "number"]
    assert not Authorization.objects.exists()


def test_it_refuses_a_duplicate_number_for_the_same_payer(w, as_front_desk):
    w.authorize(number="PA-500")
    response = as_front_desk.post(reverse("authorization_new", args=[w.enrollment.pk]),
                                  form_data(w))
    assert "already has an authorization with this number" in response.text
    assert Authorization.objects.count() == 1


def test_it_lets_clinicians_read_but_not_edit(w, as_clinician):
    auth = w.authorize()
    chart = as_clinician.get(reverse("participant_chart", args=[w.participant.code])).text
    assert auth.number in chart
    assert reverse("authorization_edit", args=[auth.pk]) not in chart
    assert as_clinician.get(reverse("authorization_edit", args=[auth.pk])).status_code == 403
    assert as_clinician.post(reverse("authorization_new", args=[w.enrollment.pk]),
                             form_data(w)).status_code == 403


def test_it_lets_a_director_change_an_authorization_and_audits_it(w, director, as_director):
    auth = w.authorize()
    response = as_director.post(reverse("authorization_edit", args=[auth.pk]),
                                form_data(w, number=auth.number, units_authorized="20"))
    assert response.status_code == 302
    auth.refresh_from_db()
    assert auth.units_authorized == 20
    trail = as_director.get(reverse("participant_audit_trail", args=[w.participant.code])).text
    # The trail's own filter lists "Authorization" anyway: look for the change itself.
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", trail.split('id="main"')[1]))
    assert (f"{director.get_full_name()} changed Authorization Lakeside Health Plan (invented) "
            f"{auth.number}") in words
    assert "units authorized : 10 → 20" in words


def test_it_sets_the_payer_of_an_enrollment(w, as_front_desk):
    response = as_front_desk.post(reverse("coverage_edit", args=[w.enrollment.pk]),
                                  {"payer": w.payer.pk, "member_id": " M-9 "})
    assert response.status_code == 302
    assert Coverage.objects.get(enrollment=w.enrollment).member_id == "M-9"


def test_it_answers_404_for_another_sites_authorization(w, as_outsider):
    auth = w.authorize()
    assert as_outsider.get(reverse("authorization_edit", args=[auth.pk])).status_code in (403,
                                                                                         404)
    assert as_outsider.get(reverse("review_packet", args=[w.participant.code])).status_code == 404


def test_it_prints_a_review_packet_with_weeks_excused_absences_and_history(w, as_director):
    w.authorize(number="OLD-1", end_date=day(6), status="expired")
    w.authorize(number="NEW-2", start_date=day(7))
    w.attend(day(0))
    w.attend(day(1), "excused")
    w.attend(day(7))

    page = as_director.get(reverse("review_packet", args=[w.participant.code])).text

    assert "Utilization review: Avery Adams" in page
    weeks = page.split('class="table table-sm packet-weeks"')[1]
    assert 'data-week="2026-02-02"' in weeks and 'data-week="2026-02-09"' in weeks
    assert '<td class="text-end packet-excused">3.00 h</td>' in weeks
    history = page.split('id="packet-auth-heading"')[1]
    assert "OLD-1" in history and "NEW-2" in history
    assert 'media="print"' in page


def test_it_reports_authorizations_ending_or_running_out_in_14_days(w, as_clinician, site):
    from tests.authorizations.world import build_world

    w.authorize(number="ENDS-SOON", end_date=TODAY + dt.timedelta(days=5))
    later = build_world(site=site)
    later.authorize(number="RUNS-OUT", units_authorized=2,
                    end_date=TODAY + dt.timedelta(days=60))
    for n in (9, 10, 11):
        later.attend(day(n), "expected")
    fine = build_world(site=site)
    fine.authorize(number="FINE", end_date=TODAY + dt.timedelta(days=60))
    authorization_usage_refresh(today=TODAY)

    page = as_clinician.get(reverse("authorizations_expiring")).text

    assert "ENDS-SOON" in page and "RUNS-OUT" in page and "FINE" not in page


def test_it_counts_the_ending_report_from_the_sites_own_today(w, clinician):
    # 21:00 in New York is already tomorrow in UTC: an authorization ending today must still
    # be listed, and its 14 days counted from the site's date.
    import time_machine
    from django.test import Client

    from tests.auth import sign_in

    w.authorize(number="ENDS-TODAY", end_date=TODAY)
    authorization_usage_refresh(today=TODAY)
    evening = dt.datetime.combine(TODAY, dt.time(21, 0), tzinfo=w.site.zone)

    with time_machine.travel(evening, tick=False):
        page = sign_in(Client(), clinician).get(reverse("authorizations_expiring")).text

    assert "ENDS-TODAY" in page


@pytest.mark.parametrize("size", [1, 12])
def test_it_keeps_the_pages_within_fixed_budgets(w, as_director, site, size,
                                                 django_assert_max_num_queries):
    from tests.authorizations.world import build_world

    for i in range(size):
        other = build_world(site=site)
        other.authorize(number=f"B-{i}", units_authorized=2)
        other.attend(day(0))
        other.attend(day(9), "expected")
        Coverage.objects.create(enrollment=other.enrollment, payer=other.payer)
    w.authorize(number="A-1")
    w.authorize(number="A-2", start_date=day(7), status="requested")
    for n in range(size):
        w.attend(day(n % 10), minutes=60, hour=8 + n % 3)
    code = w.participant.code
    # The chart: its own 11 (no follow-up sessions to read without a care plan; the hours
    # ledger's rows come with its lists) + the authorizations' usage (1) and the family
    # contacts (1); the enrollments' payers come with the enrollments.
    budgets = {reverse("participant_chart", args=[code]): 13,
               reverse("review_packet", args=[code]): 12,
               reverse("authorizations_expiring"): 7,
               reverse("authorization_new", args=[w.enrollment.pk]): 9,
               reverse("coverage_edit", args=[w.enrollment.pk]): 9}
    for url, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            assert as_director.get(url).status_code == 200, url
