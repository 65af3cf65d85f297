"""Every portal page a participant opens is recorded in their chart's audit trail."""
import pytest
from django.urls import reverse

from audit.models import AccessEvent
from audit.selectors import chart_audit_trail

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name, what", [
    ("portal-home", "portal: schedule"),
    ("portal-progress", "portal: progress"),
    ("portal-reminders", "portal: reminder settings"),
    ("portal-calendar", "portal: calendar feed"),
])
def test_it_records_each_portal_page_the_participant_opens(alice_client, alice, name, what,
                                                           now):
    assert alice_client.get(reverse(name), REMOTE_ADDR="192.0.2.30").status_code == 200

    event = AccessEvent.objects.get()
    assert event.actor == alice.user
    assert event.participant_id == alice.pk
    assert event.what == what
    assert event.path == reverse(name)
    assert event.remote_addr == "192.0.2.30"


def test_it_records_the_excuse_page_with_the_visit_in_its_address(alice_client, alice,
                                                                  schedule, now):
    url = reverse("portal-excuse", args=[schedule[7].pk])

    assert alice_client.get(url).status_code == 200

    event = AccessEvent.objects.get()
    assert (event.what, event.path, event.participant_id) == ("portal: excuse request", url,
                                                              alice.pk)
    trail = chart_audit_trail(participant=alice)
    assert "portal: excuse request" in [entry.what for entry in trail]


def test_it_records_nothing_for_a_visit_that_is_not_theirs(alice_client, bob, now):
    other = bob.attendances.order_by("pk").last().session
    other.attendances.filter(participant__first_name="Alice").delete()

    assert alice_client.get(reverse("portal-excuse", args=[other.pk])).status_code == 404
    assert not AccessEvent.objects.exists()
