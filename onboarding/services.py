"""Importing a census: the dry run, the commit, and the uploads kept between the two.

Both run the same code. The file is read (`reading.py`) and every cell judged (`checks.py`);
then every clean row is *rehearsed* through the services intake uses (participant_create,
consent_give, enrollment_enroll/refer/hold/discharge, attendance_mark) inside one transaction, each row in
its own savepoint, so their rules, audit entries and signals apply and their refusals land on
the row. A dry run always rolls the transaction back (on-commit work, such as re-planning
reminders, is dropped with it); a commit keeps it only when no row has an error, so a file with
any error writes nothing.

While a file is rehearsed, the tracks it enrolls into stay locked (as any enrollment locks
them); an import is a one-off, done before the clinic goes live or in a quiet hour.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from auditlog.context import set_actor
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_import
from participants.models import EnrollmentStatus, Participant
from participants.services import consent_give, participant_create
from participants.services_contacts import contact_create
from programs.models import Site
from sessions.models import Attendance, AttendanceStatus
from sessions.services.attendance import attendance_mark
from sessions.services.enrollment import (
    enrollment_discharge, enrollment_enroll, enrollment_hold, enrollment_refer,
)

from .checks import Checked, check_sheets
from .columns import ATTENDANCE, PARTICIPANTS, label_for
from .models import CensusUpload, CensusUploadState
from .reading import read_census

logger = logging.getLogger(__name__)

HOLD_REASON = "On hold when the census was imported."
UPLOAD_KEPT = timedelta(hours=24)


class _Rollback(Exception):
    """Raised inside the import's transaction to undo it (a dry run, or a file with errors)."""


@dataclass
class CensusResult:
    rows: list[Checked] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(len(r.errors) for r in self.rows)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def counts(self) -> dict[str, int]:
        people = [r for r in self.rows if r.sheet == PARTICIPANTS]
        return {
            "participants": len(people),
            "consents": sum(len(r.values.get("consents", ())) for r in people),
            "enrollments": sum(1 for r in people if r.values.get("status")),
            "attendance": sum(1 for r in self.rows if r.sheet == ATTENDANCE),
        }

    def as_report(self) -> dict[str, Any]:
        """The result as JSON the review page renders (and the upload keeps)."""
        return {
            "ok": self.ok, "committed": self.committed, "error_count": self.error_count,
            "file_errors": self.file_errors, "counts": self.counts,
            "rows": [{
                "sheet": r.sheet, "line": r.line, "record_number": r.record_number,
                "actions": r.actions, "waits_for": r.waits_for,
                "errors": [{"column": c, "label": label_for(r.sheet, c) if c else "",
                            "message": m} for c, m in r.errors],
            } for r in self.rows],
        }


# --- Rehearsal ----------------------------------------------------------------------------

def _create(row: Checked, by) -> tuple[Participant, Any]:
    v = row.values
    participant = participant_create(
        record_number=v["record_number"], first_name=v["first_name"], last_name=v["last_name"],
        home_site=v["home_site"], date_of_birth=v["date_of_birth"], email=v["email"],
        phone=v["phone"], reminder_channels=v["reminder_channels"],
    )
    for channel in sorted(v["consents"]):
        consent_give(participant=participant, channel=channel, source="intake")
    if v.get("contact"):
        contact_create(participant=participant, data=v["contact"])
    enrollment = None
    if v["status"] == EnrollmentStatus.REFERRED:
        enrollment = enrollment_refer(participant=participant, track=v["track"],
                                      admission_date=v["admission_date"], by=by)
    elif v["status"]:
        # A director imports people already in care, so a cohort that has started takes them.
        enrollment = enrollment_enroll(participant=participant, track=v["track"],
                                       admission_date=v["admission_date"], by=by,
                                       director_override=True)
        if enrollment.status != EnrollmentStatus.ACTIVE:
            raise ValidationError(_("%(track)s has no free seat."), code="track_full",
                                  params={"track": v["track"].name})
    return participant, enrollment


def _mark(visits: list[Checked], participant: Participant, by) -> None:
    clean = [a for a in visits if not a.errors]
    expected = {a.session_id: a for a in Attendance.objects.filter(
        participant=participant, session_id__in=[v.values["session"].pk for v in clean])}
    for visit in clean:
        attendance = expected.get(visit.values["session"].pk)
        if attendance is None:
            visit.error("session_date", _("This participant is not expected at that session "
                                          "(it is outside the enrollment's dates)."))
            continue
        if attendance.status != AttendanceStatus.EXPECTED:
            visit.error("attendance_status", _("That visit is already marked %(status)s; the "
                                               "import changes no marked attendance.")
                        % {"status": attendance.get_status_display().lower()})
            continue
        try:
            attendance_mark(attendance=attendance, status=visit.values["status"],
                            minutes=visit.values["minutes"], by=by)
        except ValidationError as exc:
            visit.error_from(exc, default_column="attendance_status")


def _rehearse(rows: list[Checked], by) -> None:
    visits: dict[str, list[Checked]] = defaultdict(list)
    for row in rows:
        if row.sheet == ATTENDANCE:
            visits[row.record_number.lower()].append(row)
    people = [row for row in rows if row.sheet == PARTICIPANTS]
    # Past enrollments first: each takes a seat only until it is discharged again.
    people.sort(key=lambda row: row.values.get("status") not in EnrollmentStatus.ended())
    for row in people:
        own = visits.pop(row.record_number.lower(), [])
        if row.errors:
            for visit in own:
                visit.waits_for = row.line
            continue
        try:
            with transaction.atomic():
                participant, enrollment = _create(row, by)
                _mark(own, participant, by)
                if row.values["status"] == EnrollmentStatus.ON_HOLD:
                    enrollment_hold(enrollment=enrollment, reason=HOLD_REASON, by=by)
                elif row.values["status"] in EnrollmentStatus.ended():
                    enrollment_discharge(enrollment=enrollment, by=by,
                                         discharge_date=row.values["discharge_date"],
                                         reason=row.values["discharge_reason"])
        except ValidationError as exc:
            row.error_from(exc)
            for visit in own:
                if not visit.errors:
                    visit.waits_for = row.line
    # Attendance of people already in the database (a second file, after the participants).
    for own in visits.values():
        participant = next((v.values["participant"] for v in own if v.values.get("participant")),
                           None)
        if participant is not None:
            _mark(own, participant, by)


def _run(*, content: bytes, file_name: str, by, commit: bool) -> CensusResult:
    try:
        sheets = read_census(content=content, file_name=file_name)
    except ValidationError as exc:
        return CensusResult(file_errors=exc.messages)
    result = CensusResult(rows=check_sheets(sheets=sheets, user=by))
    try:
        with transaction.atomic():
            _rehearse(result.rows, by)
            if not commit or not result.ok:
                raise _Rollback
    except _Rollback:
        return result
    result.committed = True
    return result


def census_check(*, content: bytes, file_name: str, by) -> CensusResult:
    """The dry run: what the file would create and every error, row by row; writes nothing."""
    return _run(content=content, file_name=file_name, by=by, commit=False)


def census_commit(*, content: bytes, file_name: str, by) -> CensusResult:
    """Import the file in one transaction, or nothing at all when any row has an error."""
    return _run(content=content, file_name=file_name, by=by, commit=True)


def file_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- Uploads from the staff page ---------------------------------------------------------

def _audit(*, by, what: str, upload: CensusUpload, result: CensusResult, path: str,
           remote_addr: str | None) -> None:
    audit_import(actor=by, sites=list(Site.objects.filter(staff=by).order_by("pk")), what=what,
                 details={"upload": str(upload.code), "sha256": upload.sha256,
                          "errors": result.error_count, **result.counts},
                 path=path, remote_addr=remote_addr)


def census_uploads_expire(*, now=None) -> int:
    """Empty the content of uploads left unimported past `UPLOAD_KEPT`; returns how many."""
    cutoff = (now or timezone.now()) - UPLOAD_KEPT
    return (CensusUpload.objects.filter(state__in=[CensusUploadState.CHECKING,
                                                   CensusUploadState.CHECKED],
                                        uploaded_at__lt=cutoff)
            .exclude(content=b"").update(content=b""))


def census_upload(*, file_name: str, content: bytes, by, path: str = "",
                  remote_addr: str | None = None) -> CensusUpload:
    """Keep an uploaded census file and queue its dry run (after commit; the task takes the id)."""
    census_uploads_expire()
    with transaction.atomic():
        upload = CensusUpload.objects.create(
            uploaded_by=by, file_name=file_name[:200], sha256=file_sha256(content),
            content=content, state=CensusUploadState.CHECKING,
            report={"path": path[:300], "remote_addr": remote_addr},
        )
        transaction.on_commit(lambda: _queue("census_check_task", upload.pk))
    return upload


def _queue(task_name: str, upload_id: int) -> None:
    from . import tasks

    getattr(tasks, task_name).delay(upload_id)


def census_upload_check(*, upload_id: int) -> CensusUpload | None:
    """The dry run of an upload waiting for it: the report is stored and the check audited."""
    with transaction.atomic():
        upload = (CensusUpload.objects.select_for_update().select_related("uploaded_by")
                  .filter(pk=upload_id, state=CensusUploadState.CHECKING).first())
        if upload is None:
            return None  # checked already (a redelivered task), or gone
        client = upload.report
        try:
            with transaction.atomic():  # a savepoint, so a failed check leaves this one usable
                result = census_check(content=bytes(upload.content),
                                      file_name=upload.file_name, by=upload.uploaded_by)
        except Exception:
            # The page must not wait forever on a check that cannot finish.
            logger.exception("census upload %s could not be checked", upload_id)
            result = CensusResult(file_errors=[_(
                "The file could not be checked because of an error on our side. Try again; if "
                "it happens again, ask an administrator.")])
        upload.report = {**result.as_report(), **_client_of(client)}
        upload.state = CensusUploadState.CHECKED
        upload.save(update_fields=["report", "state"])
        _audit(by=upload.uploaded_by, what="census import: dry run", upload=upload,
               result=result, **_client_of(client))
    return upload


def _client_of(report: dict) -> dict:
    return {"path": report.get("path") or "", "remote_addr": report.get("remote_addr")}


def census_upload_commit(*, upload: CensusUpload, sha256: str, by, path: str = "",
                         remote_addr: str | None = None) -> CensusUpload:
    """Confirm the import of the upload that was checked, if it is still the file whose hash
    the page showed; the import itself runs in a task (`census_upload_import`).

    Codes: not_yours, not_checked, already_imported, expired, file_changed.
    """
    with transaction.atomic():
        locked = CensusUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.uploaded_by_id != by.pk:
            raise ValidationError(_("Only the person who uploaded a file can import it."),
                                  code="not_yours")
        if locked.is_committed:
            raise ValidationError(_("This file was already imported."), code="already_imported")
        if locked.state != CensusUploadState.CHECKED:
            raise ValidationError(_("This file is being checked or imported; wait for it."),
                                  code="not_checked")
        content = bytes(locked.content)
        if not content:
            raise ValidationError(_("This upload expired; upload the file again."),
                                  code="expired")
        if sha256 != locked.sha256 or file_sha256(content) != locked.sha256:
            raise ValidationError(_("This is not the file that was checked; upload it again."),
                                  code="file_changed")
        locked.state = CensusUploadState.IMPORTING
        locked.report = {**locked.report, "path": path[:300], "remote_addr": remote_addr}
        locked.save(update_fields=["state", "report"])
        transaction.on_commit(lambda: _queue("census_import_task", locked.pk))
    upload.state, upload.report = locked.state, locked.report
    return upload


def census_upload_import(*, upload_id: int) -> CensusUpload | None:
    """Import an upload waiting to be imported, in one transaction with its own row.

    Every check runs again inside the import's transaction (the database may have changed
    since the dry run); with any error nothing is imported, the upload goes back to "checked"
    and its report shows the errors. The audit trail names the director who confirmed it.
    """
    with transaction.atomic():
        upload = (CensusUpload.objects.select_for_update().select_related("uploaded_by")
                  .filter(pk=upload_id, state=CensusUploadState.IMPORTING).first())
        if upload is None:
            return None
        client = _client_of(upload.report)
        by = upload.uploaded_by
        with set_actor(by):
            result = census_commit(content=bytes(upload.content), file_name=upload.file_name,
                                   by=by)
        upload.report = {**result.as_report(), **client, "refused": not result.committed}
        if result.committed:
            upload.state = CensusUploadState.COMMITTED
            upload.committed_at = timezone.now()
            upload.content = b""
        else:
            upload.state = CensusUploadState.CHECKED
        upload.save()
        _audit(by=by, what="census import: imported" if result.committed
               else "census import: refused", upload=upload, result=result, **client)
    return upload
