"""Forms for programs, tracks and a track's weekly timetable."""
from datetime import datetime, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from iop_clinic.formatting import clock
from iop_clinic.forms import add_service_errors

from programs.models import (
    Program, Room, SessionKind, SessionType, Site, Track, WeeklySlot, Weekday,
)
from programs.selectors import programs_at


class ProgramForm(forms.ModelForm):
    """A program's rules, and which of the editor's sites offer it."""

    offered_at = forms.ModelMultipleChoiceField(
        label=_("Offered at"), queryset=Site.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("It also belongs to every site that runs one of its tracks."))

    class Meta:
        model = Program
        fields = ["name", "level_of_care", "population", "duration_weeks", "min_weekly_hours",
                  "min_attendance_percent", "max_unexcused_absences", "excused_notice_hours",
                  "consecutive_absences_to_escalate", "marking_opens_minutes_before",
                  "seat_offer_hours", "cant_come_reply", "minor_disclosure_signer",
                  "contacts_hear_all_minor_sessions", "is_active"]

    def __init__(self, *args, site_ids, **kwargs):
        super().__init__(*args, **kwargs)
        mine = Site.objects.filter(pk__in=site_ids).order_by("name")
        self.fields["offered_at"].queryset = mine
        if self.instance.pk:
            self.fields["offered_at"].initial = list(
                self.instance.sites.filter(pk__in=site_ids).values_list("pk", flat=True))
        else:
            # A new program must belong somewhere the editor works, or nobody could see it.
            self.fields["offered_at"].required = True
            self.fields["offered_at"].error_messages["required"] = _(
                "Choose at least one of your sites.")


def staff_at(site_ids, roles=None):
    """Active staff linked to these sites, optionally only those holding one of `roles`."""
    users = get_user_model().objects.filter(sites__in=site_ids, is_active=True)
    if roles:
        users = users.filter(groups__name__in=[Role(r).label for r in roles])
    return users.distinct().order_by("last_name", "first_name", "pk")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class TrackForm(forms.ModelForm):
    class Meta:
        model = Track
        fields = ["program", "site", "name", "mode", "start_date", "end_date", "capacity",
                  "lead_clinician", "is_active"]
        widgets = {"start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        field_classes = {"lead_clinician": StaffChoiceField}

    def __init__(self, *args, site_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.filter(pk__in=site_ids)
        self.fields["program"].queryset = programs_at(site_ids=site_ids).order_by("name")
        self.fields["lead_clinician"].queryset = staff_at(site_ids,
                                                          [Role.CLINICIAN, Role.DIRECTOR])


class RoomChoiceField(forms.ModelChoiceField):
    """Rooms of one site, by name (a room's own label names its site, one query a room)."""

    def label_from_instance(self, obj):
        return obj.name


def notify_field() -> forms.BooleanField:
    """The "tell the people affected" box of the cancel, move, closure and timetable pages."""
    return forms.BooleanField(
        label=_("Tell the people affected"), required=False, initial=True,
        help_text=_("A short neutral text and/or email to each person expected, on the "
                    "channels they agreed to, a few minutes after the change."))


class SlotForm(forms.Form):
    """One line of a track's timetable: its day, start and end, what it is, who and where.

    The rules (no overlap with the track's other lines, rooms at the track's site, group and
    workshop types only) are the model's and the schedule services'; this form only reads what
    people type, and turns the end into the duration the timetable stores.
    """

    weekday = forms.TypedChoiceField(label=_("Day"), coerce=int, choices=Weekday.choices)
    start_time = forms.TimeField(label=_("Starts at"),
                                 widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label=_("Ends at"),
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    session_type = forms.ModelChoiceField(label=_("Session type"), queryset=SessionType.objects.none())
    title = forms.CharField(label=_("Title / topic"), max_length=120, required=False,
                            help_text=_("Shown to staff; leave empty to use the session type's name."))
    facilitator = StaffChoiceField(label=_("Facilitator"), queryset=None, required=False)
    room = RoomChoiceField(label=_("Room"), queryset=Room.objects.none(), required=False)

    def __init__(self, *args, track: Track, notify: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if notify:  # changing a line: its moved sessions' people can be told
            self.fields["notify"] = notify_field()
        self.fields["session_type"].queryset = SessionType.objects.filter(
            kind__in=SessionKind.track_kinds()).order_by("name")
        self.fields["facilitator"].queryset = staff_at([track.site_id])
        self.fields["room"].queryset = Room.objects.filter(site_id=track.site_id).order_by("name")

    @staticmethod
    def initial_for(slot: WeeklySlot) -> dict:
        ends = (datetime.combine(datetime.min, slot.start_time)
                + timedelta(minutes=slot.duration_minutes)).time()
        return {"weekday": slot.weekday, "start_time": slot.start_time, "end_time": ends,
                "session_type": slot.session_type_id, "title": slot.title,
                "facilitator": slot.facilitator_id, "room": slot.room_id}

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start is not None and end is not None:
            minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
            if minutes <= 0:
                self.add_error("end_time", forms.ValidationError(
                    _("The end must be after the start (%(start)s)."), code="end_before_start",
                    params={"start": clock(start)}))
            else:
                data["duration_minutes"] = minutes
        return data

    def slot_fields(self) -> dict:
        """The WeeklySlot fields the form sets, as `weekly_slot_update` takes them."""
        data = self.cleaned_data
        return {"weekday": data["weekday"], "start_time": data["start_time"],
                "duration_minutes": data["duration_minutes"],
                "session_type": data["session_type"], "title": data["title"],
                "facilitator": data["facilitator"], "room": data["room"]}

    def show_service_errors(self, error) -> None:
        """A service's refusal under the field it is about; the duration is typed as an end."""
        if hasattr(error, "error_dict") and "duration_minutes" in error.error_dict:
            # The model's limits on the stored duration, said in the terms of the page.
            error.error_dict.pop("duration_minutes")
            error.error_dict.setdefault("end_time", []).append(forms.ValidationError(
                _("A slot lasts from 5 minutes to 12 hours: choose another end."),
                code="slot_duration"))
        add_service_errors(self, error)
