"""Staff find failed reminders, a participant's history, and can re-plan from the admin."""
import datetime as dt

import pytest
from django.urls import reverse

from reminders.models import Reminder, ReminderPolicy

from .conftest import make_participant


def _reminders(site, count, status="sent"):
    start = dt.datetime(2026, 2, 4, 23, 0, tzinfo=dt.UTC)
    for _ in range(count):
        participant = make_participant(site)
        Reminder.objects.create(participant=participant, site=site, visit_date=dt.date(2026, 2, 4),
                                kind="day_before", channel="sms", status=status,
                                reason="permanent_error" if status == "failed" else "",
                                detail="invalid_number" if status == "failed" else "",
                                due_at=start - dt.timedelta(days=1), send_before=start,
                                sent_at=start if status == "sent" else None)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 30])
def test_it_lists_reminders_within_a_query_budget(admin_client, site, count,
                                                  django_assert_max_num_queries):
    _reminders(site, count)
    url = reverse("admin:reminders_reminder_changelist")
    with django_assert_max_num_queries(12):
        response = admin_client.get(url, {"status__exact": "sent", "visit_date__year": "2026"})
    assert response.status_code == 200
    assert response.content.decode().count("all reminders") == count


@pytest.mark.django_db
def test_it_makes_failed_reminders_easy_to_find(admin_client, site):
    _reminders(site, 2)
    _reminders(site, 1, status="failed")
    url = reverse("admin:reminders_reminder_changelist")
    page = admin_client.get(url, {"attention": "failed"}).content.decode()
    assert page.count("all reminders") == 1 and "Rejected by the provider" in page
    failed = Reminder.objects.get(status="failed")
    detail = admin_client.get(reverse("admin:reminders_reminder_change", args=[failed.pk]))
    assert "invalid_number" in detail.content.decode()
    history = admin_client.get(url, {"participant__id__exact": failed.participant_id})
    assert history.content.decode().count("all reminders") == 1


@pytest.mark.django_db
def test_it_replans_the_participants_of_selected_reminders(admin_client, site,
                                                           django_capture_on_commit_callbacks):
    _reminders(site, 2)
    url = reverse("admin:reminders_reminder_changelist")
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(url, {
            "action": "replan_participants",
            "_selected_action": list(Reminder.objects.values_list("pk", flat=True)),
        }, follow=True)
    assert "Reminders for 2 participants will be re-planned" in response.content.decode()
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_it_edits_a_sites_reminder_policy(admin_client, site):
    url = reverse("admin:reminders_reminderpolicy_add")
    response = admin_client.post(url, {
        "site": site.pk, "day_before_enabled": "on", "day_before_hours": 24,
        "same_day_enabled": "on", "same_day_hours": 3, "quiet_start": "21:00",
        "quiet_end": "08:00", "sms_per_day_max": 1, "sms_per_week_max": 3,
    })
    assert response.status_code == 302
    assert ReminderPolicy.objects.get(site=site).same_day_hours == 3


@pytest.mark.django_db
def test_it_replans_selected_participants_from_the_participant_list(
        admin_client, site, django_capture_on_commit_callbacks):
    people = [make_participant(site) for _ in range(3)]
    url = reverse("admin:participants_participant_changelist")
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(url, {
            "action": "replan_selected_participants",
            "_selected_action": [people[0].pk, people[1].pk],
        }, follow=True)
    assert "Reminders for 2 participants will be re-planned" in response.content.decode()
    assert len(callbacks) == 1
