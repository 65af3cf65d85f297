"""The census file's columns: what each sheet holds, which columns it needs, and the template.

A census file holds one or two sheets, told apart by their header row:
- **participants**: one row per person: the record, contact details, consent to be contacted
  by text and email (recorded as the intake form records it), and optionally an enrollment;
- **attendance**: one row per past visit: whose, which track session (date, and start time when
  the track meets more than once that day), how it went and the minutes attended.
An XLSX workbook may carry both sheets (one file, one transaction); a CSV file carries one, so a
clinic imports participants first and their attendance in a second file.

Headers are read loosely: "Record number", "record_number" and "RECORD NUMBER" are one column.
To import more, add a column here and its handling in `checks.py`.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    required: bool = False
    help: str = ""


PARTICIPANTS = "participants"
ATTENDANCE = "attendance"

PARTICIPANT_COLUMNS: tuple[Column, ...] = (
    Column("record_number", "Record number", required=True, help="Unique; letter case ignored."),
    Column("first_name", "First name", required=True),
    Column("last_name", "Last name", required=True),
    Column("date_of_birth", "Date of birth", help="YYYY-MM-DD or MM/DD/YYYY."),
    Column("email", "Email"),
    Column("mobile_phone", "Mobile phone", help="Typed the local way, e.g. (201) 555-0123."),
    Column("sms_consent", "SMS consent", help="yes or no: agrees to text messages."),
    Column("email_consent", "Email consent", help="yes or no: agrees to email."),
    Column("reminders_by", "Reminders by",
           help="email, sms, both or none; blank follows the consents."),
    # The language of the portal and of reminders (issue 18).
    Column("language", "Language", help="en or es (English or Spanish); blank means en."),
    Column("site", "Site", help="The home site; blank means the track's site."),
    Column("track", "Track", help="The track's name; blank for no enrollment."),
    Column("admission_date", "Admission date", help="Needed with a track."),
    Column("enrollment_status", "Enrollment status",
           help="active, on hold, referred, completed or discharged; blank means active."),
    Column("discharge_date", "Discharge date", help="Needed for completed or discharged."),
    Column("discharge_reason", "Discharge reason",
           help="completed, step down, step up, against advice, non attendance, transferred, "
                "administrative or other; blank means completed for a completed enrollment "
                "and other for a discharged one."),
    # One family contact per row (issue 18). The participant's consent to tell them about
    # appointments is signed on paper and recorded on the chart, never imported.
    Column("contact_name", "Family contact name",
           help="Blank for none. Nothing is sent to them until consent is recorded on the chart."),
    Column("contact_relationship", "Family contact relationship",
           help="parent (or guardian), partner (or spouse) or other; blank means parent."),
    Column("contact_guardian", "Family contact is guardian of a minor", help="yes or no."),
    Column("contact_phone", "Family contact mobile phone"),
    Column("contact_email", "Family contact email"),
    Column("contact_language", "Family contact language", help="en or es; blank means en."),
)

ATTENDANCE_COLUMNS: tuple[Column, ...] = (
    Column("record_number", "Record number", required=True),
    Column("track", "Track", help="Blank means the participant's track in this file."),
    Column("session_date", "Session date", required=True),
    Column("session_time", "Session time",
           help="Local start time, e.g. 18:00; needed when the track meets twice that day."),
    Column("attendance_status", "Attendance status", required=True,
           help="present, late, left early, absent or excused."),
    Column("minutes", "Minutes attended",
           help="Blank means the whole session for present; needed for late and left early."),
)

COLUMNS = {PARTICIPANTS: PARTICIPANT_COLUMNS, ATTENDANCE: ATTENDANCE_COLUMNS}
# The header that tells the two sheets apart.
KIND_MARKERS = {PARTICIPANTS: "first_name", ATTENDANCE: "session_date"}

# Invented example rows for the downloadable template (Faker-style data, no real person).
EXAMPLE_ROWS = {
    PARTICIPANTS: ["EX-0001", "Avery", "Example", "1990-04-12", "avery@example.com",
                   "(201) 555-0123", "yes", "yes", "", "en", "", "Evening group", "2026-11-02",
                   "active", "", "", "Jordan Example", "parent", "no", "(201) 555-0124",
                   "jordan@example.com", "en"],
    ATTENDANCE: ["EX-0001", "Evening group", "2026-11-02", "18:00", "present", ""],
}


def header_key(value) -> str:
    """A header cell as a column name: "Record number " -> "record_number"."""
    return "_".join(str(value or "").strip().lower().replace("-", " ").split())


def label_for(kind: str, name: str) -> str:
    return next((c.label for c in COLUMNS[kind] if c.name == name), name)
