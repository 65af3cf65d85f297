"""The reports' filter form: site, program, track, clinician and dates, limited to the asker."""
from datetime import date, timedelta
from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import connection
from django.db.models import CharField, F, Value
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from iop_clinic.compiled import CompiledQuery, compile_once, id_sentinels
from programs.models import Program, Site, Track
from reports.selectors import ReportScope
from staff.forms.care import validate_plausible_date
from staff.forms.programs import staff_at
from staff.forms.widgets import DateInput, Select

# A year and a bit: enough for an annual report, short enough to answer in time.
MAX_RANGE_DAYS = 370
DEFAULT_WEEKS = 12


# --- The menus: (id, label) rows of the asker's sites, read in one query --------------------

_MENU_COLUMNS = ("kind", "ident", "a", "b", "c")


@cache
def _menus_statement(alias: str, vendor: str, *, sites: int,
                     clinicians: bool) -> CompiledQuery:
    """The menus' query (`filter_menus`), compiled by the ORM once per process and number of
    sites (iop_clinic.compiled): compiling the union of four querysets cost more CPU than
    running it, on every report page. The asker's sites stand as `id_sentinels`, replaced by
    the real ids (parameters) when it runs, so no row is kept."""
    site_ids, sentinels = id_sentinels("sites", sites)
    blank = Value("", output_field=CharField())

    def rows(queryset, kind: str, a: str, b=blank, c=blank):
        # (kind, id, a, b, c): a, b and the id are the menu's order, as each menu sorted itself.
        return queryset.annotate(kind=Value(kind), ident=F("pk"), a=F(a), b=b, c=c).order_by(
            ).values_list(*_MENU_COLUMNS)

    parts = [
        rows(Site.objects.filter(pk__in=site_ids), "site", "name"),
        rows(Program.objects.filter(tracks__site_id__in=site_ids).distinct(), "program", "name"),
        rows(Track.objects.filter(site_id__in=site_ids), "track", "site__name", F("name")),
    ]
    if clinicians:
        parts.append(rows(staff_at(site_ids, roles=[Role.CLINICIAN]), "clinician", "last_name",
                          F("first_name"), F("username")))
    union = parts[0].union(*parts[1:], all=True).order_by("kind", "a", "b", "ident")
    # Prepared once a connection (iop_clinic.prepared): planning the union took ~0.35 ms of every
    # report page at 2,000 participants, and its generic plan is the same.
    return compile_once(union.query.get_compiler(using=alias), sentinels, what="report menus",
                        prepared=True)


def filter_menus(*, site_ids: list[int], clinicians: bool) -> dict[str, list[tuple[int, str]]]:
    """(id, label) of the sites, the programs run there, their tracks and (with `clinicians`)
    the active clinicians at them, labelled as the pages name them (a track with its site, a
    person by full name or else username). One query, none without sites."""
    menus: dict[str, list[tuple[int, str]]] = {
        "site": [], "program": [], "track": [], "clinician": []}
    if not site_ids:
        return menus
    found = _menus_statement(connection.alias, connection.vendor, sites=len(site_ids),
                             clinicians=clinicians).rows({"sites": site_ids})
    for kind, pk, a, b, c in found:
        if kind == "track":
            label = f"{b} ({a})"  # Track.__str__: its name and its site's
        elif kind == "clinician":
            label = f"{b} {a}".strip() or c  # User.get_full_name(), else the username
        else:
            label = a
        menus[kind].append((pk, label))
    return menus


class RowChoiceField(forms.ChoiceField):
    """A menu of (id, label) rows, cleaned to the chosen id: what ModelChoiceField accepts and
    answers (its error included), without building a model instance per option or reading the
    chosen row again."""

    default_error_messages = {
        "invalid_choice": forms.ModelChoiceField.default_error_messages["invalid_choice"]}

    def __init__(self, *, empty_label, **kwargs):
        super().__init__(**kwargs)
        self.empty_label = empty_label
        self.ids: frozenset[int] = frozenset()

    def set_rows(self, rows: list[tuple[int, str]]) -> None:
        # What `self.choices = ...` keeps, without normalize_choices walking every option
        # twice (the field's setter, then the widget's: half the form's construction): the
        # rows are already (id, label) pairs, the normalized form.
        self._choices = self.widget._choices = [("", self.empty_label), *map(tuple, rows)]
        self.ids = frozenset(pk for pk, _label in rows)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        ProhibitNullCharactersValidator()(value)
        try:
            pk = int(value)  # as the primary key's lookup reads it
        except (TypeError, ValueError):
            pk = None
        if pk not in self.ids:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                  params={"value": value})
        return pk

    def validate(self, value):
        forms.Field.validate(self, value)  # required or not; to_python checked the choice


class ReportFilterForm(forms.Form):
    site = RowChoiceField(label=_("Site"), required=False, empty_label=_("All my sites"),
                          widget=Select)
    program = RowChoiceField(label=_("Program"), required=False,
                             empty_label=_("All programs"), widget=Select)
    track = RowChoiceField(label=_("Track"), required=False, empty_label=_("All tracks"),
                           widget=Select)
    clinician = RowChoiceField(label=_("Clinician's caseload"), required=False,
                               empty_label=_("Everyone"), widget=Select)
    date_from = forms.DateField(label=_("From"), required=False,
                                validators=[validate_plausible_date],
                                widget=DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, validators=[validate_plausible_date],
                              widget=DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, site_ids: list[int], today: date, caseload_of=None,
                 may_choose_clinician: bool = False):
        """`caseload_of`: the clinician whose caseload every figure is limited to (a clinician
        asking); `may_choose_clinician`: directors may pick any clinician's caseload."""
        super().__init__(data)
        self.site_ids = list(site_ids)
        self.today = today
        self.caseload_of = caseload_of
        if not may_choose_clinician:
            del self.fields["clinician"]
        menus = filter_menus(site_ids=self.site_ids, clinicians=may_choose_clinician)
        for name, field in self.fields.items():
            if isinstance(field, RowChoiceField):
                field.set_rows(menus[name])
            # The classes crispy-forms' bootstrap5 field gave these widgets: the page renders
            # them with staff_fields.report_filter_field, at a tenth of the cost.
            widget = field.widget
            widget.attrs["class"] = ("select form-select" if isinstance(widget, forms.Select)
                                     else "dateinput form-control")

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
        clinician = self.caseload_of.pk if self.caseload_of else data.get("clinician")
        return ReportScope(
            site_ids=(site,) if site else tuple(self.site_ids),
            date_from=data.get("date_from", start), date_to=data.get("date_to", end),
            today=self.today, program_id=data.get("program"), track_id=data.get("track"),
            clinician_id=clinician,
        )
