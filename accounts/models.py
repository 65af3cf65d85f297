"""The custom user: one login per person, with roles (groups) and clinical credentials."""
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import Role, role_group_name


def staff_name(first_name: str, last_name: str, username: str) -> str:
    """How a user is named from a row's columns, as `User.get_full_name()` or, without a name,
    the username: menus and lists that read users as plain rows, not instances."""
    return f"{first_name} {last_name}".strip() or username


class User(AbstractUser):
    """One login per person (HIPAA: unique user identification), staff or participant."""

    credentials = models.CharField(
        _("credentials"), max_length=40, blank=True,
        help_text=_("E.g. LCSW, LADC. Shown to staff only, never in messages to participants."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def has_role(self, role: Role) -> bool:
        # Uses the prefetched groups when a selector or the access check fetched them, read
        # from the prefetch cache itself: building `self.groups` (a related manager) costs more
        # than the comparison, and layouts ask several times a page.
        groups = getattr(self, "_prefetched_objects_cache", {}).get("groups")
        if groups is None:
            groups = self.groups.all()
        name = role_group_name(role)
        return any(group.name == name for group in groups)

    @property
    def is_director(self) -> bool:
        return self.is_superuser or self.has_role(Role.DIRECTOR)

    @property
    def is_clinician(self) -> bool:
        return self.has_role(Role.CLINICIAN)

    @property
    def is_front_desk(self) -> bool:
        return self.has_role(Role.FRONT_DESK)

    @property
    def is_clinic_staff(self) -> bool:
        return self.is_superuser or any(self.has_role(role) for role in Role)
