"""The audit trail's filters: who, what (the action and the kind of record), when."""
import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from audit.selectors import SYSTEM_ACTOR, TrailFilters
from staff.forms.care import validate_plausible_date

ACTION_CHOICES = [("", _("Anything")), ("viewed", _("Viewed")), ("created", _("Created")),
                  ("changed", _("Changed")), ("deleted", _("Deleted"))]


def _date_field(label):
    return forms.DateField(label=label, required=False, validators=[validate_plausible_date],
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class TrailFilterForm(forms.Form):
    actor = forms.ChoiceField(label=_("Who"), required=False)
    action = forms.ChoiceField(label=_("Did what"), required=False, choices=ACTION_CHOICES)
    record_type = forms.TypedChoiceField(label=_("Record"), required=False, coerce=int,
                                         empty_value=None)
    since = _date_field(_("From"))
    until = _date_field(_("To"))

    def __init__(self, *args, actors: list[tuple[str, str]],
                 record_types: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("Anyone")), *actors,
                                        (SYSTEM_ACTOR, _("System (automatic)"))]
        self.fields["record_type"].choices = [("", _("Any record")), *record_types]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", ValidationError(_("The end date is before the start date."),
                                                    code="dates_reversed"))
        return data

    def filters(self, *, zone: ZoneInfo) -> TrailFilters:
        """The valid form's filters, its days read as whole days in `zone`."""
        data = self.cleaned_data

        def midnight(day):
            return dt.datetime.combine(day, dt.time(), tzinfo=zone) if day else None

        until = data.get("until")
        return TrailFilters(
            actor=data.get("actor") or "", action=data.get("action") or "",
            content_type_id=data.get("record_type"), since=midnight(data.get("since")),
            until=midnight(until + dt.timedelta(days=1)) if until else None)
