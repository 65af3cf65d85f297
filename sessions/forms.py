"""Forms behind the staff pages about sessions, attendance, follow-ups and participants."""
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import AttendanceStatus, FollowUpStatus

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
    site = forms.TypedChoiceField(label=_("Site"), coerce=int, required=False)
    week = forms.DateField(label=_("Week of"), required=False, validators=[validate_plausible_date],
                           widget=forms.DateInput(attrs={"type": "date"}))
    room = forms.TypedChoiceField(label=_("Room"), coerce=int, required=False, empty_value=None)
    facilitator = forms.TypedChoiceField(label=_("Facilitator"), coerce=int, required=False,
                                         empty_value=None)
    track = forms.TypedChoiceField(label=_("Track"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, sites, rooms, facilitators, tracks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(s.pk, s.name) for s in sites]
        any_choice = [("", _("Any"))]
        self.fields["room"].choices = any_choice + [(r.pk, r.name) for r in rooms]
        self.fields["facilitator"].choices = any_choice + [
            (u.pk, u.get_full_name() or u.username) for u in facilitators]
        self.fields["track"].choices = any_choice + [(t.pk, str(t)) for t in tracks]


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
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Any"))] + list(FollowUpStatus.choices),
    )

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("me", _("Me")), ("", _("Anyone"))] + [
            (str(u.pk), u.get_full_name() or u.username) for u in assignees]


class ParticipantSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or record number"), required=False, max_length=80)
