"""CensusUpload: one census file a director uploaded, kept until it is committed or expires.

Both the dry run and the import run in a Celery task (a 2,000-person file takes longer than a
web request may), so the upload also carries the state the page polls and the report it shows.
The file stays on the server between the dry run and the commit, keyed by its SHA-256, so the
file that is committed is byte for byte the one that was checked. Its content is personal data:
it lives in the database (protected and backed up like the records it becomes), only as long as
it is needed, and is emptied when the import commits or the upload expires.
"""
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class CensusUploadState(models.TextChoices):
    CHECKING = "checking", _("Being checked")
    CHECKED = "checked", _("Checked (dry run)")
    IMPORTING = "importing", _("Being imported")
    COMMITTED = "committed", _("Imported")


class CensusUpload(models.Model):
    code = models.UUIDField(_("public code"), default=uuid.uuid4, unique=True, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    content = models.BinaryField(_("file content"), blank=True, editable=False,
                                 help_text=_("Emptied once the file is imported."))
    state = models.CharField(_("state"), max_length=10, choices=CensusUploadState.choices,
                             default=CensusUploadState.CHECKING)
    report = models.JSONField(_("dry-run report"), default=dict, blank=True,
                              help_text=_("Row by row: what would be created and every error."))
    committed_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        verbose_name = _("census upload")
        verbose_name_plural = _("census uploads")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="committed") | models.Q(committed_at__isnull=False),
                name="censusupload_committed_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"

    def get_absolute_url(self) -> str:
        return reverse("census_review", args=[self.code])

    @property
    def is_committed(self) -> bool:
        return self.state == CensusUploadState.COMMITTED

    @property
    def is_busy(self) -> bool:
        """A worker is checking or importing it; the page waits and updates by itself."""
        return self.state in (CensusUploadState.CHECKING, CensusUploadState.IMPORTING)
