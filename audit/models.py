"""AccessEvent: who opened which chart or portal page. Append-only, like auditlog's entries."""
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditRecordImmutable(Exception):
    """Raised on any attempt to change or delete an audit record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditRecordImmutable("Audit records cannot be changed.")

    def delete(self):
        raise AuditRecordImmutable("Audit records cannot be deleted.")

    update.queryset_only = True
    delete.queryset_only = True


class AccessEvent(models.Model):
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("who"), on_delete=models.PROTECT, null=True,
        blank=True, related_name="+",
        help_text=_("Users who looked at records are deactivated, never deleted."),
    )
    # No database constraint: the event outlives the participant's row if that is ever removed.
    # No index of its own either: the (participant, at) index below serves every read by
    # participant, and each index is one more write on every chart and portal page.
    participant = models.ForeignKey(
        "participants.Participant", verbose_name=_("participant"), on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, null=True, blank=True, related_name="+",
    )
    content_type = models.ForeignKey(ContentType, verbose_name=_("record type"),
                                     on_delete=models.PROTECT, related_name="+")
    object_pk = models.CharField(_("record id"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    what = models.CharField(_("what was viewed"), max_length=100,
                            help_text=_('E.g. "chart", "attendance history", "portal: schedule".'))
    path = models.CharField(_("page"), max_length=300)
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    details = models.JSONField(
        _("details"), default=dict, blank=True,
        help_text=_("For exports: the report, the format and the filters applied."),
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        indexes = [models.Index(fields=["participant", "at"], name="accessevent_participant_idx")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.actor or _('anonymous')} viewed {self.what} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditRecordImmutable("Audit records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditRecordImmutable("Audit records cannot be deleted.")
