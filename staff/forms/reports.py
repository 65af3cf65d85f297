"""The reports' filter form: site, program, track, clinician and dates, limited to the asker."""
from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from programs.models import Program, Site, Track
from reports.selectors import ReportScope
from staff.forms.care import validate_plausible_date
from staff.forms.programs import StaffChoiceField, staff_at
from staff.forms.widgets import Select

# A year and a bit: enough for an annual report, short enough to answer in time.
MAX_RANGE_DAYS = 370
DEFAULT_WEEKS = 12


class ListedChoiceIterator(forms.models.ModelChoiceIterator):
    """The choices read with one plain query. Django's iterator reads them with
    `QuerySet.iterator()`, which on PostgreSQL opens a server-side cursor: three round trips
    (DECLARE, FETCH, CLOSE) for each of the filter's few sites, programs, tracks and clinicians,
    a third of the report pages' queries."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class TrackChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.site.name})"


class ReportFilterForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), required=False,
                                  empty_label=_("All my sites"), widget=Select)
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none(),
                                     required=False, empty_label=_("All programs"),
                                     widget=Select)
    track = TrackChoiceField(label=_("Track"), queryset=Track.objects.none(), required=False,
                             empty_label=_("All tracks"), widget=Select)
    clinician = StaffChoiceField(label=_("Clinician's caseload"),
                                 queryset=get_user_model().objects.none(), required=False,
                                 empty_label=_("Everyone"), widget=Select)
    date_from = forms.DateField(label=_("From"), required=False,
                                validators=[validate_plausible_date],
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, validators=[validate_plausible_date],
                              widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, site_ids: list[int], today: date, caseload_of=None,
                 may_choose_clinician: bool = False):
        """`caseload_of`: the clinician whose caseload every figure is limited to (a clinician
        asking); `may_choose_clinician`: directors may pick any clinician's caseload."""
        super().__init__(data)
        self.site_ids = list(site_ids)
        self.today = today
        self.caseload_of = caseload_of
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                field.iterator = ListedChoiceIterator  # before the querysets below
            # The classes crispy-forms' bootstrap5 field gave these widgets: the page renders
            # them with templates/staff/reports/_filter_field.html, at a tenth of the cost.
            widget = field.widget
            widget.attrs["class"] = ("select form-select" if isinstance(widget, forms.Select)
                                     else "dateinput form-control")
        # Each menu reads only the columns its labels show (the filter needs only the picked
        # row's id): a program or a user row is a dozen columns more to read and build.
        self.fields["site"].queryset = Site.objects.filter(pk__in=self.site_ids).only("name")
        self.fields["program"].queryset = Program.objects.filter(
            tracks__site_id__in=self.site_ids).distinct().order_by("name").only("name")
        self.fields["track"].queryset = (Track.objects.filter(site_id__in=self.site_ids)
                                         .select_related("site").order_by("site__name", "name")
                                         .only("name", "site__name"))
        if may_choose_clinician:
            self.fields["clinician"].queryset = staff_at(
                self.site_ids, roles=[Role.CLINICIAN]).only("first_name", "last_name", "username")
        else:
            del self.fields["clinician"]

    def _post_clean(self):
        super()._post_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def default_range(self) -> tuple[date, date]:
        return self.today - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1), self.today

    def clean(self):
        cleaned = super().clean()
        start, end = self.default_range()
        date_from = cleaned.get("date_from") or (cleaned.get("date_to") or end) - (end - start)
        date_to = cleaned.get("date_to") or max(end, date_from)
        if date_from > date_to:
            raise ValidationError(_("The start date must be on or before the end date."),
                                  code="date_order")
        if (date_to - date_from).days > MAX_RANGE_DAYS:
            raise ValidationError(
                _("Choose at most %(days)s days; for longer, export a year at a time."),
                code="range_too_long", params={"days": MAX_RANGE_DAYS})
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned

    def scope(self) -> ReportScope:
        """The scope of a valid form; an unbound or invalid one gives the defaults."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        start, end = self.default_range()
        site = data.get("site")
        clinician = self.caseload_of or data.get("clinician")
        return ReportScope(
            site_ids=(site.pk,) if site else tuple(self.site_ids),
            date_from=data.get("date_from", start), date_to=data.get("date_to", end),
            today=self.today,
            program_id=data["program"].pk if data.get("program") else None,
            track_id=data["track"].pk if data.get("track") else None,
            clinician_id=clinician.pk if clinician else None,
        )
