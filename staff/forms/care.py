"""Forms behind the staff pages about sessions, attendance, follow-ups and participants."""
from datetime import date

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import staff_name

from programs.phones import MobilePhoneField
from staff.forms.programs import StaffChoiceField, notify_field
from staff.forms import widgets as staff_widgets

from sessions.models import AttendanceStatus, FollowUpStatus

MARK_CHOICES = [(value, label) for value, label in AttendanceStatus.choices
                if value in AttendanceStatus.marked()]


# Pages step a day or a week either side of the date asked for; keep that arithmetic in range.
EARLIEST, LATEST = date(1900, 1, 1), date(2200, 12, 31)


def validate_plausible_date(value: date | None) -> None:
    if value and not EARLIEST <= value <= LATEST:
        raise ValidationError(_("Choose a date between 1900 and 2200."), code="date_out_of_range")


class DayForm(forms.Form):
    date = forms.DateField(label=_("Day"), required=False, validators=[validate_plausible_date],
                           widget=forms.DateInput(attrs={"type": "date"}))


class CalendarFilterForm(forms.Form):
    """The week calendar's filters; each applies as soon as it changes (htmx, see the page)."""

    site = forms.TypedMultipleChoiceField(label=_("Sites"), coerce=int, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    week = forms.DateField(label=_("Go to date"), required=False,
                           validators=[validate_plausible_date],
                           widget=staff_widgets.DateInput(attrs={"type": "date"},
                                                          format="%Y-%m-%d"))
    room = forms.TypedChoiceField(label=_("Room"), coerce=int, required=False, empty_value=None,
                                  widget=staff_widgets.Select)
    facilitator = forms.TypedChoiceField(label=_("Facilitator"), coerce=int, required=False,
                                         empty_value=None, widget=staff_widgets.Select)
    track = forms.TypedChoiceField(label=_("Track"), coerce=int, required=False, empty_value=None,
                                   widget=staff_widgets.Select)

    def __init__(self, *args, sites, rooms, facilitators, tracks, **kwargs):
        """`rooms`, `facilitators` and `tracks` are pages.calendar_filter_choices' rows."""
        super().__init__(*args, **kwargs)
        several = len(sites) > 1
        self.fields["site"].choices = [(s.pk, s.name) for s in sites]
        any_choice = [("", _("Any"))]
        self.fields["room"].choices = any_choice + [
            (r.pk, f"{r.site__name} · {r.name}" if several else r.name) for r in rooms]
        # Tracks as Track.__str__ names them.
        self.fields["facilitator"].choices = any_choice + [
            (u.pk, staff_name(u.first_name, u.last_name, u.username)) for u in facilitators]
        self.fields["track"].choices = any_choice + [
            (t.pk, f"{t.program__name} — {t.name}") for t in tracks]
        # These apply as soon as they change (static/js/app.js submits the form through htmx).
        for name in ("site", "room", "facilitator", "track"):
            self.fields[name].widget.attrs["data-autosubmit"] = ""


class AttendanceMarkForm(forms.Form):
    status = forms.ChoiceField(label=_("Attendance"), choices=MARK_CHOICES)
    minutes = forms.IntegerField(label=_("Minutes attended"), required=False, min_value=0,
                                 max_value=24 * 60)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class FollowUpResolveForm(forms.Form):
    outcome_note = forms.CharField(
        label=_("Outcome"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
        help_text=_("What came of reaching out, e.g. reached by phone, returns Thursday."),
    )


class FollowUpFilterForm(forms.Form):
    # The staff pages' Select: Django's markup, each option written in Python rather than by
    # including a template once an option (the menu lists every staff member of my sites).
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False,
                                 widget=staff_widgets.Select)
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Any"))] + list(FollowUpStatus.choices), widget=staff_widgets.Select,
    )

    def __init__(self, *args, assignees, **kwargs):
        """`assignees`: users, or rows with their pk, first_name, last_name and username
        (sessions.selectors.pages.staff_menu_rows)."""
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("me", _("Me")), ("", _("Anyone"))] + [
            (str(u.pk), staff_name(u.first_name, u.last_name, u.username))
            for u in assignees]


# --- Intake, profile, consent, enrollment and scheduling (round 2) --------------------------

def _date_widget():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _consent_source_choices():
    from participants.models import ConsentSource

    return [(v, label) for v, label in ConsentSource.choices
            if v in (ConsentSource.INTAKE_FORM, ConsentSource.VERBAL)]


class IntakeForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=80)
    last_name = forms.CharField(label=_("Last name"), max_length=80)
    record_number = forms.CharField(label=_("Record number"), max_length=32)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=_date_widget(),
                                    validators=[validate_plausible_date])
    email = forms.EmailField(label=_("Email"), required=False)
    phone = MobilePhoneField(label=_("Mobile phone"), required=False,
                             help_text=_("For text reminders, e.g. (201) 555-0123."))
    home_site = forms.ModelChoiceField(label=_("Home site"), queryset=None)
    primary_clinician = StaffChoiceField(label=_("Primary clinician"), queryset=None,
                                         required=False)
    reminder_channels = forms.ChoiceField(label=_("Reminders by"))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="en",
                                 required=False,
                                 help_text=_("Of the portal, reminders and messages."))
    consent_email = forms.BooleanField(label=_("Agrees to email"), required=False)
    consent_sms = forms.BooleanField(label=_("Agrees to text messages (SMS)"), required=False)
    consent_source = forms.ChoiceField(label=_("Consent given by"))
    track = forms.ModelChoiceField(label=_("Track"), queryset=None)
    admission_date = forms.DateField(label=_("Admission date"), widget=_date_widget(),
                                     validators=[validate_plausible_date])

    def __init__(self, *args, sites, tracks, clinicians, **kwargs):
        from participants.models import ReminderChannels

        super().__init__(*args, **kwargs)
        self.fields["home_site"].queryset = sites
        self.fields["track"].queryset = tracks
        self.fields["primary_clinician"].queryset = clinicians
        self.fields["reminder_channels"].choices = ReminderChannels.choices
        self.fields["consent_source"].choices = _consent_source_choices()

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or "en"

    def consent_channels(self) -> list[str]:
        return [c for c in ("email", "sms") if self.cleaned_data.get(f"consent_{c}")]


class ParticipantEditForm(forms.ModelForm):
    class Meta:
        from participants.models import Participant

        model = Participant
        fields = ["first_name", "last_name", "record_number", "date_of_birth", "email", "phone",
                  "home_site", "time_zone", "primary_clinician", "reminder_channels", "language"]
        widgets = {"date_of_birth": _date_widget()}
        field_classes = {"primary_clinician": StaffChoiceField}

    phone = MobilePhoneField(label=_("Mobile phone"), required=False,
                             help_text=_("For text reminders, e.g. (201) 555-0123."))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, required=False,
                                 help_text=_("Of the portal, reminders and messages."))

    def __init__(self, *args, sites, clinicians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["home_site"].queryset = sites
        self.fields["primary_clinician"].queryset = clinicians
        self.fields["date_of_birth"].validators.append(validate_plausible_date)

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or self.instance.language

    def validate_unique(self):
        pass  # participant_update answers a taken record number whatever its letter case


class ConsentChangeForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"))
    action = forms.ChoiceField(label=_("Change"), choices=[("give", _("Record consent")),
                                                         ("revoke", _("Revoke consent"))])
    source = forms.ChoiceField(label=_("How"))

    def __init__(self, *args, **kwargs):
        from participants.models import ConsentChannel

        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = ConsentChannel.choices
        self.fields["source"].choices = _consent_source_choices()


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


_notify_field = notify_field


class NotifyForm(forms.Form):
    """Only the "tell the people affected" box (removing a timetable line)."""
    notify = _notify_field()


class SessionCancelForm(ReasonForm):
    notify = _notify_field()


class DischargeForm(forms.Form):
    discharge_date = forms.DateField(label=_("Last day in care"), widget=_date_widget(),
                                     validators=[validate_plausible_date])
    reason = forms.ChoiceField(label=_("Reason"))
    note = forms.CharField(label=_("Discharge note"), required=False, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    step_down_level = forms.ChoiceField(label=_("Step down to"), required=False)
    step_down_provider = forms.CharField(label=_("Step-down provider"), required=False,
                                         max_length=120)
    support_groups = forms.CharField(label=_("Support groups"), required=False, max_length=2000,
                                     widget=forms.Textarea(attrs={"rows": 2}),
                                     help_text=_("E.g. AA Tuesday evenings, SMART Recovery."))
    plan_notes = forms.CharField(label=_("Care-plan notes"), required=False, max_length=4000,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    followup_type = forms.ModelChoiceField(label=_("Follow-up appointment"), queryset=None,
                                           required=False, empty_label=_("None"))
    followup_at = forms.DateTimeField(
        label=_("Follow-up date and time"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Local time at the participant's site."))
    followup_repeat = forms.IntegerField(label=_("Weekly, this many times"), required=False,
                                         min_value=1, max_value=12, initial=1)

    def __init__(self, *args, session_types, **kwargs):
        from participants.models import DischargeReason, StepDownLevel

        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = DischargeReason.choices
        self.fields["step_down_level"].choices = StepDownLevel.choices
        self.fields["followup_type"].queryset = session_types

    def clean(self):
        data = super().clean()
        kind, at = data.get("followup_type"), data.get("followup_at")
        if kind and not at:
            self.add_error("followup_at", _("Choose when the follow-up appointment is."))
        if at and not kind:
            self.add_error("followup_type", _("Choose what kind of appointment it is."))
        if at:
            validate_plausible_date(at.date())
        return data

    def care_plan(self) -> dict:
        d = self.cleaned_data
        return {"step_down_level": d["step_down_level"],
                "step_down_provider": d["step_down_provider"],
                "support_groups": d["support_groups"], "notes": d["plan_notes"]}

    def followups(self) -> list:
        from datetime import timedelta

        d = self.cleaned_data
        if not d.get("followup_type"):
            return []
        at = d["followup_at"].replace(tzinfo=None)
        return [(d["followup_type"], at + timedelta(weeks=i))
                for i in range(d.get("followup_repeat") or 1)]


class PersonalSessionForm(forms.Form):
    session_type = forms.ModelChoiceField(label=_("Kind of session"), queryset=None)
    starts_at_local = forms.DateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                      format="%Y-%m-%dT%H:%M"),
        help_text=_("Local time at the participant's site."))
    duration_minutes = forms.IntegerField(label=_("Minutes"), required=False, min_value=5,
                                          max_value=720)
    facilitator = StaffChoiceField(label=_("Clinician"), queryset=None, required=False)
    room = forms.ModelChoiceField(label=_("Room"), queryset=None, required=False)
    title = forms.CharField(label=_("Title"), required=False, max_length=120)
    repeat_weekly = forms.BooleanField(label=_("Repeat weekly until the planned end"),
                                       required=False)

    def __init__(self, *args, session_types, staff, rooms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session_type"].queryset = session_types
        self.fields["facilitator"].queryset = staff
        self.fields["room"].queryset = rooms

    def clean_starts_at_local(self):
        value = self.cleaned_data["starts_at_local"]
        validate_plausible_date(value.date())
        return value.replace(tzinfo=None)


class ClosureForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=None)
    date = forms.DateField(label=_("Date"), widget=_date_widget(),
                           validators=[validate_plausible_date])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=120,
                             help_text=_("E.g. Thanksgiving."))
    notify = _notify_field()

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites


class ScheduleUntilForm(forms.Form):
    until = forms.DateField(label=_("Schedule until"), required=False, widget=_date_widget(),
                            validators=[validate_plausible_date],
                            help_text=_("Leave blank: a cohort's whole run, or a rolling track's "
                                        "usual horizon."))


class ExcuseDeclineForm(forms.Form):
    note = forms.CharField(label="Note to the participant (optional)", max_length=300,
                           required=False, widget=forms.Textarea(attrs={"rows": 3}))


class SessionChangeForm(forms.Form):
    """One session's day, time, length, room and facilitator (times are the site's)."""

    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}),
                          validators=[validate_plausible_date])
    start_time = forms.TimeField(label=_("Starts (site time)"),
                                 widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    duration_minutes = forms.IntegerField(label=_("Minutes"), min_value=5, max_value=720)
    room = forms.ModelChoiceField(label=_("Room"), queryset=None, required=False)
    facilitator = StaffChoiceField(label=_("Facilitator"), queryset=None, required=False)
    notify = _notify_field()

    def __init__(self, *args, staff, rooms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facilitator"].queryset = staff
        self.fields["room"].queryset = rooms

