"""Staff roles are Django groups with a fixed set of model permissions, kept in sync on migrate."""
from functools import cache

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DIRECTOR = "director", _("Program director")
    CLINICIAN = "clinician", _("Clinician")
    FRONT_DESK = "front_desk", _("Front desk")


@cache
def role_group_name(role: Role) -> str:
    """The name of the role's group: its label in English, whatever language a page is in.
    Worked out once: comparing a name with the lazy label translates the label again at each
    comparison, and a staff layout asks for the user's roles a dozen times."""
    with translation.override("en"):
        return str(Role(role).label)


_ALL = ("view", "add", "change", "delete")

# app_label.model -> actions, per role. Directors administer everything clinical.
# Rows that only services write get no "add" or "delete": follow-ups are raised by attendance,
# excuse requests by participants, and attendance changes are history (view only). Portal links
# are for the participant alone: no role gets any permission on them.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    Role.DIRECTOR: {
        "programs.site": ("view", "change"),
        "programs.room": _ALL,
        "programs.program": _ALL,
        "programs.sessiontype": _ALL,
        "programs.track": _ALL,
        "programs.weeklyslot": _ALL,
        "programs.closure": _ALL,
        "participants.participant": _ALL,
        "participants.contactconsent": _ALL,
        "participants.enrollment": _ALL,
        "participants.continuingcareplan": _ALL,
        "iop_sessions.therapysession": _ALL,
        "iop_sessions.attendance": _ALL,
        "iop_sessions.attendancechange": ("view",),
        "iop_sessions.followup": ("view", "change"),
        "iop_sessions.excusedabsencerequest": ("view", "change"),
        # The chart audit trail page; audit rows are never changed, by anyone.
        "audit.accessevent": ("view",),
        "auditlog.logentry": ("view",),
    },
    Role.CLINICIAN: {
        "programs.program": ("view",),
        "programs.track": ("view",),
        "programs.weeklyslot": ("view",),
        "participants.participant": ("view", "change"),
        "participants.enrollment": ("view", "change"),
        "participants.continuingcareplan": ("view", "add", "change"),
        "iop_sessions.therapysession": ("view", "add", "change"),
        "iop_sessions.attendance": ("view", "add", "change"),
        "iop_sessions.attendancechange": ("view",),
        "iop_sessions.followup": ("view", "change"),
        "iop_sessions.excusedabsencerequest": ("view", "change"),
    },
    Role.FRONT_DESK: {
        "programs.program": ("view",),
        "programs.track": ("view",),
        "programs.weeklyslot": ("view",),
        "participants.participant": ("view", "add", "change"),
        "participants.contactconsent": ("view", "add", "change"),
        "participants.enrollment": ("view", "add", "change"),
        "iop_sessions.therapysession": ("view", "add", "change"),
        "iop_sessions.attendance": ("view", "add", "change"),
        "iop_sessions.attendancechange": ("view",),
        # Front desk sees follow-ups to call people back; an outcome is a clinical note, so
        # resolving stays with clinicians (access.can_write_clinical_notes). Excuse requests are
        # answered on clinical pages only (portal.views.clinical_required).
        "iop_sessions.followup": ("view",),
    },
}


def sync_role_groups(*, using: str = "default") -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    # One query for every permission the roles mention, not one per model and role: this runs
    # after each migrate and each test-database flush.
    app_labels = {key.split(".")[0] for grants in ROLE_PERMISSIONS.values() for key in grants}
    permissions = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.using(using).select_related("content_type")
        .filter(content_type__app_label__in=app_labels)
    }
    for role, grants in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role_group_name(role))
        wanted = []
        for model_key, actions in grants.items():
            app_label, model = model_key.split(".")
            wanted += [permissions[key] for action in actions
                       if (key := (app_label, f"{action}_{model}")) in permissions]
        group.permissions.set(wanted)
