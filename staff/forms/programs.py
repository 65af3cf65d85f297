"""Forms for programs, tracks and a track's weekly timetable."""
from django import forms
from django.contrib.auth import get_user_model
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role

from programs.models import Program, Room, SessionKind, SessionType, Site, Track, WeeklySlot
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
                  "seat_offer_hours", "cant_come_reply", "is_active"]

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


class WeeklySlotForm(forms.ModelForm):
    class Meta:
        model = WeeklySlot
        fields = ["weekday", "start_time", "duration_minutes", "session_type", "title",
                  "facilitator", "room"]
        widgets = {"start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        field_classes = {"facilitator": StaffChoiceField}


class BaseSlotFormSet(BaseInlineFormSet):
    def __init__(self, *args, site_ids, **kwargs):
        self.site_ids = site_ids
        super().__init__(*args, **kwargs)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        # The same three menus on every line: query them once for the whole timetable.
        if not hasattr(self, "_shared_choices"):
            querysets = {
                "session_type": SessionType.objects.filter(
                    kind__in=SessionKind.track_kinds()).order_by("name"),
                "room": Room.objects.filter(site_id__in=self.site_ids).select_related("site"),
                "facilitator": staff_at(self.site_ids),
            }
            self._shared_choices = {}
            for name, queryset in querysets.items():
                field = form.fields[name]
                field.queryset = queryset
                self._shared_choices[name] = (queryset, list(field.choices))
        for name, (queryset, choices) in self._shared_choices.items():
            form.fields[name].queryset = queryset
            form.fields[name].choices = choices

    def check_rooms_at(self, site: Site | None) -> None:
        """The track's site is chosen in the same page, so compare rooms against it here."""
        if site is None:
            return
        for form in self.forms:
            room = getattr(form, "cleaned_data", {}).get("room")
            if room and room.site_id != site.pk and not form.cleaned_data.get("DELETE"):
                form.add_error("room", _("The room must be at the track's site."))


SlotFormSet = inlineformset_factory(
    Track, WeeklySlot, form=WeeklySlotForm, formset=BaseSlotFormSet, extra=2, can_delete=True,
)
