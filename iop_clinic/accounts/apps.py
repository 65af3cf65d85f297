from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "iop_clinic.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Groups reference permissions of every app, which exist only after all apps migrate.
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.sync_roles")


def _last_app_migrated():
    from django.apps import apps

    # post_migrate is sent once per app with models, in INSTALLED_APPS order, and each app's
    # permissions are created on its own signal: only the last one sees them all.
    return [config for config in apps.get_app_configs() if config.models_module][-1]


def _sync_roles(sender, **kwargs) -> None:
    from .roles import sync_role_groups

    if sender.label == _last_app_migrated().label:
        sync_role_groups(using=kwargs.get("using", "default"))
