"""Each role group holds the permissions the staff pages and the admin need, and no more."""
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import Role
from tests import factories
from tests.auth import sign_in

pytestmark = pytest.mark.django_db

# What each role does on the staff pages, as model permissions.
NEEDED = {
    Role.DIRECTOR: {
        "programs.change_track", "programs.add_weeklyslot", "programs.add_closure",
        "participants.change_enrollment", "iop_sessions.change_therapysession",
        "iop_sessions.view_attendancechange", "iop_sessions.change_followup",
        "iop_sessions.change_excusedabsencerequest",
    },
    Role.CLINICIAN: {
        "participants.view_participant", "iop_sessions.change_attendance",
        "iop_sessions.view_attendancechange", "iop_sessions.view_followup",
        "iop_sessions.change_followup", "iop_sessions.view_excusedabsencerequest",
        "iop_sessions.change_excusedabsencerequest",
    },
    Role.FRONT_DESK: {
        "participants.add_participant", "participants.add_enrollment",
        "iop_sessions.change_attendance", "iop_sessions.view_attendancechange",
        "iop_sessions.view_followup",
    },
}
# Rows only services write, or that belong to the participant alone.
NEVER = {
    "iop_sessions.add_attendancechange", "iop_sessions.change_attendancechange",
    "iop_sessions.delete_attendancechange", "iop_sessions.add_followup",
    "iop_sessions.delete_followup", "iop_sessions.add_excusedabsencerequest",
    "iop_sessions.delete_excusedabsencerequest", "participants.view_portallink",
    "participants.add_portallink", "participants.change_portallink",
    "participants.delete_portallink",
}


def _granted(role: Role) -> set[str]:
    group = Group.objects.get(name=role.label)
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")}


@pytest.mark.parametrize("role", list(Role))
def test_it_gives_each_role_what_its_pages_need(role):
    granted = _granted(role)

    assert NEEDED[role] - granted == set()
    assert granted & NEVER == set()


def test_it_keeps_clinical_notes_and_excuses_from_front_desk():
    granted = _granted(Role.FRONT_DESK)

    assert "iop_sessions.change_followup" not in granted
    assert not {p for p in granted if p.endswith("_excusedabsencerequest")}


def test_it_lets_a_front_desk_user_read_attendance_history_in_the_admin(client, site):
    user = factories.StaffFactory(role="front_desk", sites=[site], is_staff=True)
    sign_in(client, user)

    assert client.get(reverse("admin:iop_sessions_attendancechange_changelist")).status_code == 200
    assert client.get(reverse("admin:participants_portallink_changelist")).status_code == 403
