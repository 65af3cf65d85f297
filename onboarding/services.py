"""Importing a census: the dry run, the commit, and the uploads kept between the two.

Both run the same code. The file is read (`reading.py`) and every cell judged (`checks.py`);
then the clean rows are *rehearsed* through the services intake uses, in their batch form
(participants_create_many, consents_give_many, enrollment_enroll_many, attendance_mark_many:
the same rule functions, each step once for the whole file) inside one transaction, so their
rules, audit entries and signals apply and their refusals land on the row. Referrals and holds
go through enrollment_refer/enrollment_hold row by row; past (completed or discharged)
enrollments are imported in waves that fit the free seats, then discharged one by one
(`_import_past`). A dry run always rolls the transaction back (on-commit work, such as re-planning
reminders, is dropped with it) and writes no audit entries; a commit keeps it only when no row
has an error, so a file with any error writes nothing.

What an import sets off, once per file: reminders re-planned and authorization usage derived
again for everyone it touched (after commit); follow-ups for imported unexcused absences, as
marking raises them, with one neutral email per assignee rather than one per absence.

While a file is rehearsed, the tracks it enrolls into stay locked (as any enrollment locks
them); an import is a one-off, done before the clinic goes live or in a quiet hour.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from auditlog.context import disable_auditlog, set_actor
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_import
from participants.models import Contact, ContactConsent, Enrollment, EnrollmentStatus, Participant
from participants.selectors import track_seats
from participants.services import consents_give_many, participants_create_many
from participants.services_contacts import contact_create
from programs.models import Site
from sessions.models import Attendance, AttendanceStatus, FollowUp
from sessions.services.attendance import MarkRequest, attendance_mark_many
from sessions.services.enrollment import (
    EnrollRequest, enrollment_discharge, enrollment_enroll_many, enrollment_hold,
    enrollment_refer,
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

class _RowRefused(Exception):
    """Raised inside a row's savepoint to undo it (a past enrollment the services refused)."""


def _person(v: dict) -> dict:
    return {"record_number": v["record_number"], "first_name": v["first_name"],
            "last_name": v["last_name"], "home_site": v["home_site"],
            "date_of_birth": v["date_of_birth"], "email": v["email"], "phone": v["phone"],
            "reminder_channels": v["reminder_channels"], "language": v["language"]}


def _refused(rows: list[Checked], results: list) -> list[tuple[Checked, Any]]:
    """Put each refusal on its row; the rows (with what was made) that went through."""
    accepted = []
    for row, result in zip(rows, results):
        if isinstance(result, ValidationError):
            row.error_from(result)
        else:
            accepted.append((row, result))
    return accepted


def _create(people: list[Checked], by) -> dict[int, Any]:
    """Register the people, record their consents and enroll them, each step in bulk through
    the services intake uses (their rules, audit and signals). Returns each row's enrollment
    (None for a row enrolling nowhere) by the row's index; a refused row gets the error and
    is left out."""
    created = _refused(people, participants_create_many(people=[_person(r.values)
                                                                  for r in people]))
    for row, participant in created:
        row.values["participant"] = participant
    pairs = [(row, channel) for row, _p in created for channel in sorted(row.values["consents"])]
    consents = consents_give_many(consents=[(row.values["participant"], channel)
                                            for row, channel in pairs], source="intake")
    for (row, _channel), result in zip(pairs, consents):
        if isinstance(result, ValidationError):
            row.error_from(result)
    # A family contact, at most one a row and never with consent (recorded on the chart);
    # few rows carry one, so it goes through intake's own service row by row.
    for row, participant in created:
        if row.values.get("contact") and not row.errors:
            try:
                contact_create(participant=participant, data=row.values["contact"])
            except ValidationError as exc:
                row.error_from(exc)
    ready = [row for row, _p in created if not row.errors]
    enrollments: dict[int, Any] = {id(row): None for row in ready}
    for row in ready:
        if row.values["status"] == EnrollmentStatus.REFERRED:
            try:
                enrollments[id(row)] = enrollment_refer(
                    participant=row.values["participant"], track=row.values["track"],
                    admission_date=row.values["admission_date"], by=by)
            except ValidationError as exc:
                row.error_from(exc)
    enrolling = [row for row in ready
                 if row.values["status"] and row.values["status"] != EnrollmentStatus.REFERRED]
    # A director imports people already in care, so a cohort that has started takes them.
    results = enrollment_enroll_many(requests=[
        EnrollRequest(participant=row.values["participant"], track=row.values["track"],
                      admission_date=row.values["admission_date"]) for row in enrolling],
        by=by, director_override=True)
    for row, enrollment in _refused(enrolling, results):
        if enrollment.status != EnrollmentStatus.ACTIVE:
            row.error_from(ValidationError(_("%(track)s has no free seat."), code="track_full",
                                           params={"track": row.values["track"].name}))
        enrollments[id(row)] = enrollment
    return enrollments


def _mark(visits: list[Checked], by) -> None:
    """Mark the visits (each row's `participant` known) in one go through `attendance_mark_many`."""
    clean = [v for v in visits if not v.errors]
    if not clean:
        return
    expected = {(a.participant_id, a.session_id): a for a in Attendance.objects.filter(
        participant_id__in={v.values["participant"].pk for v in clean},
        session_id__in={v.values["session"].pk for v in clean},
    ).only("pk", "participant_id", "session_id", "status")}
    marking = []
    for visit in clean:
        attendance = expected.get((visit.values["participant"].pk, visit.values["session"].pk))
        if attendance is None:
            visit.error("session_date", _("This participant is not expected at that session "
                                          "(it is outside the enrollment's dates)."))
            continue
        if attendance.status != AttendanceStatus.EXPECTED:
            visit.error("attendance_status", _("That visit is already marked %(status)s; the "
                                               "import changes no marked attendance.")
                        % {"status": attendance.get_status_display().lower()})
            continue
        marking.append((visit, MarkRequest(attendance_id=attendance.pk,
                                           status=visit.values["status"],
                                           minutes=visit.values["minutes"])))
    results = attendance_mark_many(marks=[m for _v, m in marking], by=by)
    for (visit, _mark_request), result in zip(marking, results):
        if isinstance(result, ValidationError):
            visit.error_from(result, default_column="attendance_status")


def _import(people: list[Checked], visits: dict[str, list[Checked]], by) -> dict[int, Any]:
    """Import these (clean) participant rows and their visits: create, enroll, mark, hold.
    Returns each row's enrollment by the row's id()."""
    enrollments = _create(people, by)
    own = []
    for row in people:
        for visit in visits.get(row.record_number.lower(), []):
            if row.errors:
                if not visit.errors:
                    visit.waits_for = row.line
            else:
                visit.values["participant"] = row.values["participant"]
                own.append(visit)
    _mark(own, by)
    for row in people:
        if not row.errors and row.values["status"] == EnrollmentStatus.ON_HOLD:
            try:
                enrollment_hold(enrollment=enrollments[id(row)], reason=HOLD_REASON, by=by)
            except ValidationError as exc:
                row.error_from(exc)
                for visit in visits.get(row.record_number.lower(), []):
                    if not visit.errors:
                        visit.waits_for = row.line
    return enrollments


def _import_past(rows: list[Checked], visits: dict[str, list[Checked]], by) -> None:
    """Import past (completed or discharged) enrollments, each enrolled, marked, discharged.

    They go in waves that fit each track's free seats (a past enrollment holds its seat only
    until its discharge, a moment later), each wave in bulk and then discharged row by row. A
    wave in which anything is refused is undone and imported again one row at a time, each in
    its own savepoint, so every refusal is reported as it would be for that row alone.
    """
    if not rows:
        return
    tracks = {row.values["track"].pk: row.values["track"] for row in rows}
    seats = track_seats(tracks=tracks.values())
    waiting = Counter(Enrollment.objects.filter(
        track_id__in=list(tracks), status=EnrollmentStatus.WAITLISTED,
        seat_offered_at__isnull=True).values_list("track_id", flat=True))
    free = {pk: seats[pk].capacity - seats[pk].taken - waiting[pk] for pk in tracks}
    pending = list(rows)
    while pending:
        wave, later, used = [], [], Counter()
        for row in pending:
            track_id = row.values["track"].pk
            if used[track_id] < max(free[track_id], 1):
                used[track_id] += 1
                wave.append(row)
            else:
                later.append(row)
        pending = later
        if len(wave) == 1 or not _import_past_together(wave, visits, by):
            for row in wave:
                _import_past_alone(row, visits, by)


def _import_past_together(wave: list[Checked], visits: dict[str, list[Checked]], by) -> bool:
    own = {row.record_number.lower(): visits.get(row.record_number.lower(), []) for row in wave}
    touched = wave + [visit for found in own.values() for visit in found]
    before = [(list(r.errors), r.waits_for, dict(r.values)) for r in touched]
    try:
        with transaction.atomic():
            enrollments = _import(wave, own, by)
            if any(len(r.errors) != len(errors) for r, (errors, _w, _v) in zip(touched, before)):
                raise _RowRefused
            for row in wave:
                enrollment_discharge(enrollment=enrollments[id(row)], by=by,
                                     discharge_date=row.values["discharge_date"],
                                     reason=row.values["discharge_reason"])
        return True
    except (ValidationError, _RowRefused):
        for row, (errors, waits_for, values) in zip(touched, before):
            row.errors[:] = errors
            row.waits_for = waits_for
            row.values.clear()
            row.values.update(values)
        return False


def _import_past_alone(row: Checked, visits: dict[str, list[Checked]], by) -> None:
    own = {row.record_number.lower(): visits.get(row.record_number.lower(), [])}
    try:
        with transaction.atomic():
            enrollment = _import([row], own, by).get(id(row))
            if row.errors:
                raise _RowRefused
            enrollment_discharge(enrollment=enrollment, by=by,
                                 discharge_date=row.values["discharge_date"],
                                 reason=row.values["discharge_reason"])
    except ValidationError as exc:
        row.error_from(exc)
    except _RowRefused:
        pass
    if row.errors:
        for visit in own[row.record_number.lower()]:
            if not visit.errors:
                visit.waits_for = row.line


def _rehearse(rows: list[Checked], by) -> None:
    visits: dict[str, list[Checked]] = defaultdict(list)
    for row in rows:
        if row.sheet == ATTENDANCE:
            visits[row.record_number.lower()].append(row)
    people = [row for row in rows if row.sheet == PARTICIPANTS]
    for row in people:
        if row.errors:
            for visit in visits.pop(row.record_number.lower(), []):
                visit.waits_for = row.line
    people = [row for row in people if not row.errors]
    # Past enrollments first: each takes a seat only until it is discharged again.
    past = [r for r in people if r.values.get("status") in EnrollmentStatus.ended()]
    _import_past(past, {r.record_number.lower(): visits.pop(r.record_number.lower(), [])
                        for r in past}, by)
    # Everyone else is then imported together.
    current = [r for r in people if r.values.get("status") not in EnrollmentStatus.ended()]
    _import(current, {key: visits.pop(key, []) for key in
                      {r.record_number.lower() for r in current}}, by)
    # Attendance of people already in the database (a second file, after the participants).
    known = [v for own in visits.values() for v in own if v.values.get("participant")]
    _mark(known, by)


def _run(*, content: bytes, file_name: str, by, commit: bool) -> CensusResult:
    try:
        sheets = read_census(content=content, file_name=file_name)
    except ValidationError as exc:
        return CensusResult(file_errors=exc.messages)
    result = CensusResult(rows=check_sheets(sheets=sheets, user=by))
    try:
        # A dry run's writes are rolled back, and their audit entries with them: it writes
        # none (a third of its time at 2,000 people). The commit records every row.
        with transaction.atomic(), (nullcontext() if commit else disable_auditlog()):
            _rehearse(result.rows, by)
            if not commit or not result.ok:
                raise _Rollback
            _statistics_refresh()
    except _Rollback:
        return result
    result.committed = True
    return result


# What an import fills: the tables whose statistics go stale when a clinic is brought in.
IMPORTED_MODELS = (Participant, ContactConsent, Contact, Enrollment, Attendance, FollowUp,
                   LogEntry)


def _statistics_refresh() -> None:
    """ANALYZE what the import filled, in its own transaction (PostgreSQL samples the rows it
    inserted, and the statistics commit with them). The work queued on commit (re-planning,
    the authorization usage refresh) otherwise plans its joins on an empty clinic's statistics
    until autovacuum comes by: bench/clinic.py saw the usage refresh take minutes instead of
    seconds at 2,000 participants. One statement; ANALYZE blocks no reads or writes."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in IMPORTED_MODELS)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


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
