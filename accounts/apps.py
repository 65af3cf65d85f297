"""Accounts: the custom user, staff roles synced into groups, sign-in, two-factor and log-off."""
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Groups reference permissions of every app, which exist only after all apps migrate.
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.sync_roles")
        from . import signals  # noqa: F401  (login starts the log-off clocks)


class ClinicAdminConfig(admin_apps.AdminConfig):
    """Django's admin whose default site requires a verified second factor."""

    default = False  # AccountsConfig is this module's app; this one is named in settings

    default_site = "accounts.admin_site.ClinicAdminSite"


def _sync_roles(sender, **kwargs) -> None:
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    from .roles import sync_role_groups

    if sender.label == "accounts":
        using = kwargs.get("using", "default")
        # post_migrate reaches the apps in INSTALLED_APPS order, and Django creates each app's
        # permissions when it reaches that app: on a fresh database those of programs,
        # participants and sessions (listed after accounts) do not exist yet. Create them now
        # (idempotent) so the groups get them on the first migrate, not only on a second one.
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0, using=using)
        sync_role_groups(using=using)
