"""Admin for who is in care: participants, consents, enrollments, continuing-care plans."""
import datetime
from functools import cache, cached_property
from operator import attrgetter
from html import escape

from django.contrib import admin
from django import forms
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME, ActionForm
from django.contrib.admin.templatetags.admin_list import (
    ResultList, date_hierarchy, pagination, paginator_number, result_headers,
    result_hidden_fields, results,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    _get_non_gfk_field, display_for_field, display_for_value, get_fields_from_path, quote,
)
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import InvalidPage
from django.core.validators import EMPTY_VALUES
from django.db import connections, models, router
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponseRedirect
from django.template.defaultfilters import capfirst as capfirst_filter
from django.template.loader import get_template, select_template
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, formats, timezone
from django.utils.encoding import iri_to_uri
from django.utils.functional import Promise
from django.utils.safestring import SafeData, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy as _

from programs.phones import MobilePhoneField
from iop_clinic.compiled import CompiledQuery, compile_once, compile_pages
from iop_clinic.page_rows import EscapedOnce, template_text
from iop_clinic.admin_mixins import (
    FastChangelistMixin, LabelledTabularInline, ReadOnlyModelAdmin, SharedChoicesInlineMixin,
    changelist_url,
)

from .models import (
    Contact,
    ContactConsent,
    DisclosureConsent,
    ContinuingCarePlan,
    Enrollment,
    EnrollmentStatus,
    Participant,
    PortalLink,
)

# An enrollment's lifecycle (admit, hold, resume, withdraw, discharge) runs through the
# enrollment services, which also write expected attendance, offer freed seats and re-plan
# reminders. Editing these fields by hand would skip all of that, so the admin only shows them.
ENROLLMENT_LIFECYCLE_FIELDS = (
    "participant", "track", "status", "admission_date", "planned_end_date", "waitlisted_at",
    "seat_offered_at", "held_at", "hold_reason", "discharge_date", "discharge_reason",
    "discharge_note",
)


class EnrollmentInline(SharedChoicesInlineMixin, LabelledTabularInline):
    """A person's enrollments, to read: the staff pages enroll, admit, hold and discharge."""

    model = Enrollment
    view_on_site = False  # models link back into the admin itself
    fields = ("track", "status", "admission_date", "planned_end_date", "discharge_date",
              "discharge_reason")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enrollment]:
        # Each row's __str__ names the participant, the track and its program.
        return super().get_queryset(request).select_related("participant", "track__program")


class ContactConsentInline(LabelledTabularInline):
    model = ContactConsent
    view_on_site = False  # models link back into the admin itself
    fields = ("channel", "given_at", "source", "revoked_at", "revoked_source")
    extra = 0


class EnrollmentStatusFilter(admin.SimpleListFilter):
    title = _("enrollment status")
    parameter_name = "enrollment_status"

    def lookups(self, request, model_admin):
        return EnrollmentStatus.choices

    def queryset(self, request, queryset):
        if self.value() in EnrollmentStatus.values:
            # EXISTS, not a join: two enrollments with the status must not list a person twice.
            return queryset.filter(Exists(Enrollment.objects.filter(
                participant=OuterRef("pk"), status=self.value())))
        return queryset


class CompiledRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """Django's filter by a related row (the home site), its choices read through a statement
    compiled once a process (iop_clinic.compiled): building and compiling the related rows'
    query cost more than reading the few sites. The same choices as field.get_choices gives
    the filter: every related row, in the related admin's ordering (or the model's), named by
    its __str__. A field with choices or limit_choices_to, or an ordering by an expression, gets
    Django's."""

    _statements: dict[tuple, CompiledQuery] = {}

    def field_choices(self, field, request, model_admin):
        ordering = tuple(self.field_admin_ordering(field, request, model_admin) or ())
        if (field.choices is not None or field.get_limit_choices_to()
                or not all(isinstance(name, str) for name in ordering)):
            return super().field_choices(field, request, model_admin)
        related = field.remote_field.model
        alias = router.db_for_read(related)
        key = (related, alias, connections[alias].vendor, ordering)
        statement = self._statements.get(key)
        if statement is None:
            rows = related._default_manager.using(alias).all()
            if ordering:
                rows = rows.order_by(*ordering)
            statement = self._statements[key] = compile_once(
                rows.query.get_compiler(using=alias), {}, what="filter choices", model=related)
        attname = field.remote_field.get_related_field().attname
        return [(getattr(row, attname), str(row)) for row in statement.objects({})]


class StandingConsentFilter(admin.SimpleListFilter):
    title = _("consent")
    parameter_name = "standing"

    def lookups(self, request, model_admin):
        return (("yes", _("Standing")), ("no", _("Revoked")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


_PLACEHOLDER = "987654321"
# Fields display_for_field shows as str(value) (or the empty value): no link, number or date
# formatting. Exact types: URLField is a CharField that links.
_TEXT_FIELDS = (models.CharField, models.TextField, models.EmailField, models.SlugField)


# FastChangelistMixin.action_checkbox's markup in its cell, as Django's rows write it.
_CHECKBOX_CELL = ('<td class="action-checkbox"><input type="checkbox" name="{name}" value="{pk}" '
                  'class="action-select" aria-label="{label}"></td>')


def _select_label() -> str:
    """The checkbox's label with "{}" for the row, as action_checkbox passes it to format_html
    (which leaves the translation itself as it is and escapes the row's name)."""
    return gettext("Select this object for an action - {}")


# What each of DATETIME_FORMAT's characters depends on (django.utils.dateformat.DateFormat):
# a row's text for a character is worked out once a page for each such value. A format with
# any other character (seconds, time zone names, ...) is written by Django cell by cell.
_DATE_PART = attrgetter("year", "month", "day")
_DEPENDS_ON = {
    **dict.fromkeys("bEFMmNn", attrgetter("month")),
    **dict.fromkeys("djS", attrgetter("day")),
    **dict.fromkeys("yY", attrgetter("year")),
    **dict.fromkeys("DlwzWoLt", _DATE_PART),
    **dict.fromkeys("aAgGhH", attrgetter("hour")),
    "i": attrgetter("minute"),
    **dict.fromkeys("fP", attrgetter("hour", "minute")),
}


class _DateTimeCells:
    """A datetime column's cells as display_for_field writes them (DATETIME_FORMAT at the
    current time zone), for one page: Django's DateFormat dispatches and translates each
    character of each cell again, some 45 µs a cell, most of a changelist's date column."""

    def __init__(self, pieces: list[tuple[str, object]]) -> None:
        self._pieces = pieces
        self._texts: dict[tuple, str] = {}

    @classmethod
    def for_page(cls) -> "_DateTimeCells | None":
        pieces = []
        for i, piece in enumerate(dateformat.re_formatchars.split(
                str(formats.get_format("DATETIME_FORMAT")))):
            if i % 2 == 0:
                if piece:
                    pieces.append((dateformat.re_escaped.sub(r"\1", piece), None))
            elif piece in _DEPENDS_ON:
                pieces.append((piece, _DEPENDS_ON[piece]))
            else:
                return None
        return cls(pieces)

    def text(self, value: datetime.datetime) -> str:
        local = timezone.template_localtime(value)
        texts, parts, formatter = self._texts, [], None
        for piece, depends_on in self._pieces:
            if depends_on is None:
                parts.append(piece)
                continue
            key = (piece, depends_on(local))
            text = texts.get(key)
            if text is None:
                # What DateFormat.format does for each character of the format.
                formatter = formatter or dateformat.DateFormat(local)
                text = texts[key] = str(getattr(formatter, piece)())
            parts.append(text)
        return "".join(parts)


def _html(value) -> str:
    """What format_html does to each value: keep safe strings, escape the rest."""
    return value.__html__() if hasattr(value, "__html__") else escape(str(value))


# What admin/filter.html writes, piece by piece (a test compares the two, byte for byte).
_FILTER_TEMPLATE = "admin/filter.html"
_FILTER_HEAD = '\n<details data-filter-title="{title}" open>\n  <summary>\n    {heading}\n  </summary>\n  <ul>\n  '
_FILTER_CHOICE = '\n    <li{selected}>\n    <a href="{href}">{display}</a></li>\n  '
_FILTER_TAIL = "\n  </ul>\n</details>\n"


def _value(mapping: dict, key: str):
    """{{ mapping.key }}'s value: the template's empty string for a missing key."""
    value = mapping.get(key, "") if isinstance(mapping, dict) else getattr(mapping, key, "")
    return "" if value is None else value


def _date_hierarchy_html(context: dict | None) -> str:
    """admin/date_hierarchy.html as the list's template included it (with show, back and
    choices only, when there is a context): the include, its blocks and its loop cost about
    0.2 ms a page. A test compares the two, byte for byte."""
    if not context:
        return ""
    if not context.get("show"):
        return "\n"
    parts = ['\n<nav class="toplinks">\n\n\n']
    back = context.get("back")
    if back:
        parts.append(f'<a href="{template_text(_value(back, "link"))}" class="date-back">&lsaquo; '
                     f'{template_text(_value(back, "title"))}</a>')
    parts.append("\n\n\n")
    for choice in context.get("choices") or ():
        title = template_text(_value(choice, "title"))
        link = _value(choice, "link")
        parts.append(f'\n<a href="{template_text(link)}">{title}</a>\n' if link else f"\n{title}\n")
    parts.append("\n\n\n</nav>\n\n")
    # Safe: every value was escaped as the template's autoescaping does.
    return mark_safe("".join(parts))


def _filter_html(spec, choices: list[dict]) -> str:
    """A list filter as Django's {% admin_list_filter %} writes it with admin/filter.html."""
    title = template_text(spec.title)
    parts = [_FILTER_HEAD.format(
        title=title, heading=gettext(" By %(filter_title)s ") % {"filter_title": title})]
    for choice in choices:
        query = choice["query_string"]
        href = iri_to_uri(str(query))
        parts.append(_FILTER_CHOICE.format(
            selected=' class="selected"' if choice.get("selected") else "",
            href=href if isinstance(query, SafeData) else escape(href),
            display=template_text(choice.get("display", ""))))
    parts.append(_FILTER_TAIL)
    return "".join(parts)


# What admin/change_list_results.html writes around and between its rows (a test compares).
_RESULTS_TEMPLATE = "admin/change_list_results.html"
_RESULTS_HEAD = '\n\n\n<div class="results">\n<table id="result_list">\n<thead>\n<tr>\n'
_RESULTS_BODY = "\n</tr>\n</thead>\n<tbody>\n"
_RESULTS_TAIL = "\n</tbody>\n</table>\n</div>\n\n"
_SORT_OPTIONS = ('\n       <div class="sortoptions">\n         <a class="sortremove" href="{remove}" '
                 'title="{remove_title}"></a>\n         {priority}\n         <a href="{toggle}" '
                 'class="toggle {direction}" title="{toggle_title}"></a>\n       </div>\n   ')


def _header_html(header: dict, num_sorted_fields: int) -> str:
    """One column heading as admin/change_list_results.html writes it."""
    parts = [f'\n<th scope="col"{_html(header["class_attrib"])}>\n   ']
    if header["sortable"] and header["sort_priority"] > 0:
        priority = ""
        if num_sorted_fields > 1:
            number = template_text(header["sort_priority"])
            title = gettext("Sorting priority: %(priority_number)s") % {"priority_number": number}
            priority = f'<span class="sortpriority" title="{title}">{number}</span>'
        parts.append(_SORT_OPTIONS.format(
            remove=escape(header["url_remove"]), toggle=escape(header["url_toggle"]),
            remove_title=escape(gettext("Remove from sorting")), priority=priority,
            direction="ascending" if header["ascending"] else "descending",
            toggle_title=escape(gettext("Toggle sorting"))))
    text = _html(capfirst_filter(header["text"]))
    if header["sortable"]:
        text = f'<a href="{escape(header["url_primary"])}">{text}</a>'
    else:
        text = f"<span>{text}</span>"
    parts.append(f'\n   <div class="text">{text}</div>\n   <div class="clear"></div>\n</th>')
    return "".join(parts)


_ACTIONS = (
    '\n<div class="actions">\n  \n    \n    <label>{label} <select name="action"{attrs}>{options}'
    '\n</select></label><input type="hidden" name="select_across" value="0" class="select-across">'
    '\n    \n    \n    <button type="submit" class="button" title="{run}" name="index" value="{index}">'
    '{go}</button>\n    \n    \n    {counter}\n    \n  \n</div>\n')
_ACTIONS_COUNTER = (
    '\n        <span class="action-counter" data-actions-icnt="{shown}">{note}</span>\n        {more}'
    '\n    ')
_ACTIONS_ACROSS_PAGES = (
    '\n        <span class="all hidden">{note_all}</span>\n        <span class="question hidden">'
    '\n            <a role="button" href="#" title="{across}">{select_all}</a>\n        </span>'
    '\n        <span class="clear hidden"><a role="button" href="#">{clear}</a></span>\n        ')


def actions_html(context) -> str:
    """admin/actions.html for Django's own action form, written in Python (a test compares).

    The template renders the action dropdown through the form renderer's select, option and
    attrs templates, then itself: about 1 ms a page for a bar that reads the same on every
    page. Another action form gets Django's template."""
    form = context.get("action_form")
    if type(form) is not ActionForm or set(form.fields) != {"action", "select_across"}:
        return _django_actions(context)
    field = form["action"]
    widget = field.field.widget
    if type(widget) is not forms.Select or field.value() not in (None, ""):
        return _django_actions(context)
    cl = context["cl"]
    options = "".join(
        f'\n  <option value="{escape(str(value))}"{"" if value else " selected"}>'
        f"{_html(label)}</option>\n"
        for value, label in field.field.choices)
    attrs = " required" if widget.use_required_attribute(field.initial) else ""
    counter = ""
    if context.get("actions_selection_counter"):
        shown = len(cl.result_list)
        more = ""
        if cl.result_count != shown:
            select_all = gettext("Select all %(total_count)s %(module_name)s") % {
                "total_count": template_text(cl.result_count),
                "module_name": template_text(context.get("module_name", ""))}
            more = _ACTIONS_ACROSS_PAGES.format(
                note_all=template_text(context.get("selection_note_all", "")),
                across=escape(gettext("Click here to select the objects across all pages")),
                select_all=select_all, clear=escape(gettext("Clear selection")))
        counter = _ACTIONS_COUNTER.format(
            shown=template_text(shown), more=more,
            note=template_text(context.get("selection_note", "")))
    # Safe: every value was escaped as the templates' autoescaping does.
    return mark_safe(_ACTIONS.format(
        label=template_text(field.label), attrs=attrs, options=options,
        run=escape(gettext("Run the selected action")),
        index=template_text(context.get("action_index") or 0),
        go=escape(gettext("Go")), counter=counter))


def _django_actions(context) -> str:
    """What {% admin_actions %} writes, with the action_index it has counted already."""
    opts = context["cl"].opts
    return select_template([
        f"admin/{opts.app_label}/{opts.model_name}/actions.html",
        f"admin/{opts.app_label}/actions.html", "admin/actions.html",
    ]).render(context.flatten())


# No month has 32 days: a list's first 32 distinct days, if there are that many, span two months.
_MORE_THAN_A_MONTH_OF_DAYS = 32


class _CompiledPages:
    """An unfiltered changelist's rows for its Paginator: the count and each page (a slice)
    through statements compiled once a process per admin and sort (iop_clinic.compiled), a
    page's rows built into the objects, select_related objects and annotations the ORM builds.
    Compiling the page's select_related joins, annotation and ordering cost more Python
    (~0.4 ms) than running it; compiling the count, ~0.3 ms."""

    # (count, page) per admin, database, sort and the columns read.
    _statements: dict[tuple, tuple[CompiledQuery, CompiledQuery]] = {}

    def __init__(self, count: CompiledQuery, page: CompiledQuery) -> None:
        self._count = count
        self._page = page

    @classmethod
    def of(cls, changelist: ChangeList, queryset: QuerySet) -> "_CompiledPages | None":
        """The pages of `queryset` (`changelist`'s rows), or None where its query is not one
        of a kind compiled here: filtered or searched (a WHERE), sliced, distinct or sorted by
        an expression."""
        query = queryset.query
        if (query.where or query.distinct or query.is_sliced or query.extra
                or not all(isinstance(name, str) for name in query.order_by)):
            return None
        alias = queryset.db
        select_related = query.select_related
        key = (type(changelist.model_admin), alias, connections[alias].vendor,
               tuple(query.order_by), query.default_ordering, query.standard_ordering,
               repr(select_related) if isinstance(select_related, dict) else select_related,
               tuple(query.annotations), frozenset(query.deferred_loading[0]),
               query.deferred_loading[1])
        statements = cls._statements.get(key)
        if statements is None:
            # Prepared once a connection (iop_clinic.prepared): an unfiltered list's only str
            # parameters are the code's constants (the active track's status); planning its
            # page's joins and subquery was PostgreSQL's work on every page.
            statements = cls._statements[key] = compile_pages(
                queryset, {}, alias=alias, what="changelist", model=queryset.model,
                prepared=True)
        return cls(*statements)

    def count(self) -> int:
        return self._count.rows({})[0][0]

    def __getitem__(self, page: slice) -> list:
        start = page.start or 0
        return self._page.objects({"limit": page.stop - start, "offset": start})


class PreparedRowsChangeList(ChangeList):
    """A changelist whose rows are written with the column decisions made once a page.

    Django's items_for_result looks each column up again for every cell (the field, its
    display settings, whether it links, the change URL reversed per row), which was most of
    the participants changelist's time at 50 rows. Here each column is planned once (a choice
    field's labels and plain text shown as display_for_field would show them), every other
    cell goes through Django's display_for_field / display_for_value, into the same markup
    (admin/participants/participant/change_list.html includes admin/change_list_results.html
    with these rows). A changelist this does not cover (a popup, list_editable, to_field, a
    non-integer key, a column that is not a field or an admin method) gets Django's own rows;
    tests/participants/test_admin_rows.py compares the two.
    """

    def get_results(self, request: HttpRequest) -> None:
        """Django's ChangeList.get_results, with two differences.

        The page's rows read only the columns the admin's `list_only` names (when it names
        them and the rows are not edited in place): the columns its rows and each row's
        __str__ show. Building every column of the row, its home site and its clinician was
        most of reading a page.

        Django counts the list's rows and then, for "(N total)", the unfiltered rows: with no
        filter, search or date chosen (no WHERE at all) that is the same COUNT twice, counted
        once here, and each page is read through a statement compiled once (_CompiledPages).
        """
        rows = self.queryset
        only = getattr(self.model_admin, "list_only", None)
        if only and not self.list_editable:
            rows = rows.only(*only)
        narrowed = bool(self.queryset.query.where)
        paginator = self.model_admin.get_paginator(
            request, (None if narrowed else _CompiledPages.of(self, rows)) or rows,
            self.list_per_page)
        result_count = paginator.count
        if not self.model_admin.show_full_result_count:
            full_result_count = None
        elif narrowed:
            full_result_count = self.root_queryset.count()
        else:
            full_result_count = result_count
        can_show_all = result_count <= self.list_max_show_all
        multi_page = result_count > self.list_per_page
        if (self.show_all and can_show_all) or not multi_page:
            result_list = rows._clone()
        else:
            try:
                result_list = paginator.page(self.page_num).object_list
            except InvalidPage:
                raise IncorrectLookupParameters from None
        self.result_count = result_count
        self.show_full_result_count = self.model_admin.show_full_result_count
        # Actions show with at least one row, or when the rows are not counted.
        self.show_admin_actions = not self.show_full_result_count or bool(full_result_count)
        self.full_result_count = full_result_count
        self.result_list = result_list
        self.can_show_all = can_show_all
        self.multi_page = multi_page
        self.paginator = paginator

    @cached_property
    def date_hierarchy_context(self) -> dict | None:
        """The context of Django's {% date_hierarchy %}, its first level read in one query.

        With no date chosen, Django reads the earliest and latest date, then the days, months
        or years between them: two queries. Here the first 32 distinct days come first: fewer
        than that, and they are every day of the list, which says the level and its choices
        (a young list, within a month, is the usual case); 32 or more span months, and the
        months say the level (and are its choices) in the second query. A date chosen
        already is Django's own, as are the context's links and titles.
        """
        field_name = self.date_hierarchy
        if not field_name:
            return None
        prefix = f"{field_name}__"
        year_field, month_field, day_field = (f"{prefix}year", f"{prefix}month", f"{prefix}day")
        if any(self.params.get(name) for name in (year_field, month_field, day_field)):
            return date_hierarchy(self)
        field = get_fields_from_path(self.model, field_name)[-1]
        read = (self.queryset.datetimes if isinstance(field, models.DateTimeField)
                else self.queryset.dates)

        def link(filters: dict) -> str:
            return self.get_query_string(filters, [prefix])

        days = self._first_days(field_name, read)
        if len(days) < _MORE_THAN_A_MONTH_OF_DAYS:
            months = list({(day.year, day.month): day.replace(day=1) for day in days}.values())
        else:
            months = list(read(field_name, "month"))
        if len(months) == 1:
            year, month = days[0].year, days[0].month
            return {
                "show": True,
                "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [{
                    "link": link({year_field: year, month_field: month, day_field: day.day}),
                    "title": capfirst(formats.date_format(day, "MONTH_DAY_FORMAT")),
                } for day in days],
            }
        if months and months[0].year == months[-1].year:
            year = months[0].year
            return {
                "show": True,
                "back": {"link": link({}), "title": gettext("All dates")},
                "choices": [{
                    "link": link({year_field: year, month_field: month.month}),
                    "title": capfirst(formats.date_format(month, "YEAR_MONTH_FORMAT")),
                } for month in months],
            }
        years = dict.fromkeys(month.year for month in months)
        return {
            "show": True,
            "back": None,
            "choices": [{"link": link({year_field: str(year)}), "title": str(year)}
                        for year in years],
        }

    # The first days' statement of an unfiltered list, compiled once a process per admin,
    # database, field and time zone (the zone is written into the SQL).
    _days_statements: dict[tuple, CompiledQuery] = {}

    def _first_days(self, field_name: str, read) -> list:
        """The list's first _MORE_THAN_A_MONTH_OF_DAYS distinct days of `field_name`, as
        `read` (the queryset's dates or datetimes) gives them; when nothing narrows the list,
        through its statement compiled once (compiling it cost more than running it)."""
        query = self.queryset.query
        if query.where or query.distinct or query.is_sliced:
            return list(read(field_name, "day")[:_MORE_THAN_A_MONTH_OF_DAYS])
        alias = self.queryset.db
        key = (type(self.model_admin), alias, connections[alias].vendor, field_name,
               timezone.get_current_timezone_name())
        statement = self._days_statements.get(key)
        if statement is None:
            days = read(field_name, "day")[:_MORE_THAN_A_MONTH_OF_DAYS]
            statement = self._days_statements[key] = compile_once(
                days.query.get_compiler(using=alias), {}, what="changelist days")
        return [day for day, in statement.rows({})]

    def date_hierarchy_html(self) -> str:
        """{% block date_hierarchy %} of the list's template: admin/date_hierarchy.html for
        date_hierarchy_context, written here (_date_hierarchy_html)."""
        return _date_hierarchy_html(self.date_hierarchy_context)

    def filters_html(self) -> str:
        """The list filters as {% admin_list_filter %} writes them, one after the other.

        Each filter's choices are Django's; admin/filter.html, rendered once a filter, is
        written here (about 1.5 ms a page for four filters). A filter with a template of
        its own still gets it."""
        parts = []
        for spec in self.filter_specs:
            choices = list(spec.choices(self))
            if spec.template == _FILTER_TEMPLATE:
                parts.append(_filter_html(spec, choices))
            else:
                parts.append(get_template(spec.template).render(
                    {"title": spec.title, "choices": choices, "spec": spec}))
        # Safe: every value was escaped as the template's autoescaping does.
        return mark_safe("".join(parts))

    def results_html(self) -> str:
        """The result table as admin/change_list_results.html writes it from results_context.

        The template looks up each row, each cell and each heading's six values through the
        template engine: some 2 ms a page for 50 rows written already. Rows with a form
        (list_editable) and hidden fields get the template itself."""
        context = self.results_context
        results = context["results"]
        if context["result_hidden_fields"] or any(getattr(row, "form", None) for row in results):
            return get_template(_RESULTS_TEMPLATE).render(context)
        if not results:
            return "\n\n\n"
        sorted_fields = context["num_sorted_fields"]
        parts = [_RESULTS_HEAD]
        parts.extend(_header_html(header, sorted_fields) for header in context["result_headers"])
        parts.append(_RESULTS_BODY)
        for row in results:
            parts.append("\n\n<tr>")
            parts.extend(_html(cell) for cell in row)
            parts.append("</tr>\n")
        parts.append(_RESULTS_TAIL)
        # Safe: each cell was safe already; every other value was escaped as autoescaping does.
        return mark_safe("".join(parts))

    def pagination_html(self) -> str:
        """admin/pagination.html, written here from Django's {% pagination %} context and
        its page links (paginator_number): the template's include and loop, about 0.4 ms."""
        context = pagination(self)
        parts = ['\n\n<p class="paginator">\n']
        if context["pagination_required"]:
            parts.append("\n")
            parts.extend(f"\n    {paginator_number(self, i)}\n" for i in context["page_range"])
            parts.append("\n")
        name = (self.opts.verbose_name if self.result_count == 1
                else self.opts.verbose_name_plural)
        parts.append(f"\n{template_text(self.result_count)} "
                     f"{template_text(name)}\n")
        if context["show_all_url"]:
            parts.append(f'<a href="{escape(context["show_all_url"])}" class="showall">'
                         f'{escape(gettext("Show all"))}</a>')
        parts.append("\n")
        if self.formset and self.result_count:
            parts.append(f'<input type="submit" name="_save" class="default" '
                         f'value="{escape(gettext("Save"))}">')
        parts.append("\n</p>\n")
        # Safe: the page links are format_html's; every other value was escaped here.
        return mark_safe("".join(parts))

    @cached_property
    def results_context(self) -> dict:
        """The context of Django's {% result_list %} inclusion tag, rows prepared here."""
        headers = list(result_headers(self))
        return {
            "cl": self,
            "result_hidden_fields": list(result_hidden_fields(self)),
            "result_headers": headers,
            "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
            "results": self._prepared_results() or list(results(self)),
        }

    def _columns(self) -> list[tuple] | None:
        admin_ = self.model_admin
        empty = admin_.get_empty_value_display()
        links = self.list_display_links
        columns, first = [], True
        for name in self.list_display:
            if not isinstance(name, str) or "__" in name:
                return None
            link = name in links if links else first
            tag = ("th" if first else "td") if link else "td"
            first = first and not link
            try:
                field = _get_non_gfk_field(self.lookup_opts, name)
            except FieldDoesNotExist:
                field = None
            except Exception:  # FieldIsAForeignKeyColumnName and the like: Django's way
                return None
            if field is None:
                if not hasattr(admin_, name) or name == "__str__":
                    return None
                method = getattr(admin_, name)
                if getattr(method, "__func__", None) is FastChangelistMixin.action_checkbox:
                    # Its markup with the label translated once a page, not once a row.
                    columns.append(("checkbox", name, _select_label(), "action-checkbox", None,
                                    empty, False))
                    continue
                classes = "action-checkbox" if name == "action_checkbox" else f"field-{name}"
                columns.append(("method", name, method, classes, tag if link else None,
                                getattr(method, "empty_value_display", empty),
                                getattr(method, "boolean", False)))
            else:
                if field.auto_created or field.many_to_many:
                    return None
                classes = f"field-{name}"
                if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
                    classes += " nowrap"
                kind, target = "field", field
                if isinstance(field.remote_field, models.ManyToOneRel):
                    kind = "relation"
                elif getattr(field, "flatchoices", None) and not isinstance(field, models.JSONField):
                    # display_for_field rebuilds this dict for every cell; each lazy label is
                    # translated once a page here, not once a cell.
                    try:
                        kind, target = "choice", {
                            value: str(label) if isinstance(label, Promise) else label
                            for value, label in dict(field.flatchoices).items()}
                    except TypeError:  # unhashable choices: Django's way, cell by cell
                        pass
                elif type(field) in _TEXT_FIELDS:
                    kind = "text"
                elif isinstance(field, models.DateTimeField):
                    cells = _DateTimeCells.for_page()
                    if cells is not None:
                        kind, target = "datetime", cells
                columns.append((kind, name, target, classes, tag if link else None, empty, False))
        return columns

    def _prepared_results(self) -> list | None:
        if self.formset or self.is_popup or self.to_field or self.list_display_links is None:
            return None
        if not isinstance(self.lookup_opts.pk, models.IntegerField):
            return None  # a text key would need reverse()'s own quoting, row by row
        columns = self._columns()
        if columns is None:
            return None
        try:
            url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                          args=(_PLACEHOLDER,), current_app=self.model_admin.admin_site.name)
        except NoReverseMatch:
            return None
        url = add_preserved_filters(
            {"preserved_filters": self.preserved_filters, "opts": self.opts}, url)
        # The id sits in the path, before any preserved filters that might hold the same digits.
        url_head, url_tail = url.split(_PLACEHOLDER, 1)
        # html.escape replaces character by character: the URL's fixed parts are escaped once a
        # page and an integer key's digits need none, and a text shown again (a choice's label,
        # a site, a track) is escaped once a page.
        href_head, href_tail = escape(url_head), escape(url_tail)
        pk_attname = self.pk_attname
        escaped = EscapedOnce()
        rows = []
        for result in self.result_list:
            key = getattr(result, pk_attname)
            href = (f"{href_head}{key}{href_tail}" if type(key) is int
                    else escape(f"{url_head}{quote(key)}{url_tail}"))
            cells = []
            for kind, name, target, classes, tag, empty, boolean in columns:
                if kind == "checkbox":
                    pk = result.pk
                    cells.append(_CHECKBOX_CELL.format(
                        name=ACTION_CHECKBOX_NAME, pk=pk if type(pk) is int else escape(str(pk)),
                        label=target.format(escape(str(result)))))
                    continue
                if kind == "method":
                    value = target(result)
                    if isinstance(value, str) and value.strip() == "":
                        value = ""
                    shown = display_for_value(value, empty, boolean)
                    if isinstance(value, (datetime.date, datetime.time)):
                        classes += " nowrap"
                elif kind == "relation":
                    related = getattr(result, name)
                    shown = (empty if related is None else related
                             if hasattr(related, "__html__") else str(related))
                else:
                    value = getattr(result, name)
                    if isinstance(value, str) and value.strip() == "":
                        value = ""
                    if kind == "choice":
                        shown = target.get(value, empty)
                    elif kind == "text":
                        # What display_for_field comes to for a plain text field.
                        shown = empty if value in EMPTY_VALUES else str(value)
                    elif kind == "datetime":
                        shown = empty if value is None else target.text(value)
                    else:
                        shown = display_for_field(value, target, empty,
                                                  avoid_link=tag is not None)
                # What _html does to a plain text, once a page for each text.
                html = escaped[shown] if type(shown) is str else _html(shown)
                if tag is None:
                    cells.append(f'<td class="{classes}">{html}</td>')
                else:
                    cells.append(f'<{tag} class="{classes}"><a href="{href}">{html}</a></{tag}>')
            # Safe: every value was escaped (or was a safe string already), as format_html does.
            rows.append(ResultList(None, [mark_safe("".join(cells))]))
        return rows


@cache
def _participants_with_active_track() -> QuerySet[Participant]:
    """Participants with the name of their active enrollment's track, built once a process and
    cloned for each request, as a class's `queryset` attribute is: building and resolving the
    subquery was ~0.3 ms of every participants changelist and change page."""
    active = Enrollment.objects.filter(participant=OuterRef("pk"), status=EnrollmentStatus.ACTIVE)
    return Participant._default_manager.annotate(
        _active_track=Subquery(active.values("track__name")[:1]))


@admin.register(Participant)
class ParticipantAdmin(FastChangelistMixin, admin.ModelAdmin):
    list_display = ("record_number", "last_name", "first_name", "home_site", "active_track",
                    "primary_clinician", "reminder_channels", "created_at")
    list_display_links = ("record_number", "last_name")
    list_filter = (("home_site", CompiledRelatedFieldListFilter), EnrollmentStatusFilter,
                   "reminder_channels", "language")
    search_fields = ("record_number", "first_name", "last_name", "email")
    list_select_related = ("home_site", "primary_clinician")
    autocomplete_fields = ("home_site", "primary_clinician", "user")
    readonly_fields = ("code", "created_at")
    date_hierarchy = "created_at"
    # What the list's rows read (PreparedRowsChangeList): their columns, and the names each
    # row's __str__ (its checkbox's label), its home site's and its clinician's write.
    list_only = ("record_number", "first_name", "last_name", "home_site__name",
                 "primary_clinician__first_name", "primary_clinician__last_name",
                 "primary_clinician__username", "reminder_channels", "created_at")
    inlines = (EnrollmentInline, ContactConsentInline)
    actions = ("show_attendance",)
    fieldsets = (
        (None, {"fields": ("record_number", "first_name", "last_name", "date_of_birth")}),
        (_("Contact and reminders"), {
            "fields": ("email", "phone", "reminder_channels", "language", "time_zone"),
            "description": _("Record consent to each channel below; reminders need both."),
        }),
        (_("Care"), {"fields": ("home_site", "primary_clinician", "user")}),
        (_("Record"), {"fields": ("code", "created_at")}),
    )

    def get_changelist(self, request: HttpRequest, **kwargs):
        return PreparedRowsChangeList

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "phone":
            # As intake takes it: "(201) 555-0123" in the clinic's region, kept as E.164,
            # shown nationally, and refused when it can't take a text.
            return MobilePhoneField(label=_("Mobile phone"), required=False,
                                    help_text=_("For text reminders, e.g. (201) 555-0123."))
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Participant]:
        # As ModelAdmin.get_queryset, from the annotated queryset built once.
        queryset = _participants_with_active_track().all()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    @admin.display(description=_("active track"), ordering="_active_track")
    def active_track(self, participant: Participant) -> str:
        return participant._active_track or "—"

    @admin.action(description=_("Show the attendance of the selected participants"))
    def show_attendance(self, request: HttpRequest, queryset: QuerySet[Participant]):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(changelist_url("iop_sessions.attendance", participant__id__in=ids))


@admin.register(ContactConsent)
class ContactConsentAdmin(admin.ModelAdmin):
    list_display = ("participant", "channel", "given_at", "source", "revoked_at", "revoked_source")
    list_filter = (StandingConsentFilter, "channel", "source")
    search_fields = ("participant__record_number", "participant__first_name",
                     "participant__last_name")
    date_hierarchy = "given_at"
    list_select_related = ("participant",)
    autocomplete_fields = ("participant",)


class ContinuingCarePlanInline(admin.StackedInline):
    model = ContinuingCarePlan
    view_on_site = False  # models link back into the admin itself
    fields = ("step_down_level", "step_down_provider", "support_groups", "notes", "created_by",
              "created_at")
    readonly_fields = ("created_by", "created_at")
    extra = 0
    max_num = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContinuingCarePlan]:
        return super().get_queryset(request).select_related("created_by", "enrollment__participant")


def _stamp_created_by(request: HttpRequest, plan: ContinuingCarePlan) -> None:
    if plan.pk is None and plan.created_by_id is None:
        plan.created_by = request.user


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("participant", "track", "status", "admission_date", "planned_end_date",
                    "discharge_date", "discharge_reason", "has_care_plan")
    list_filter = ("status", "track__site", "track__program", "discharge_reason")
    search_fields = ("participant__record_number", "participant__first_name",
                     "participant__last_name", "track__name")
    date_hierarchy = "admission_date"
    list_select_related = ("participant", "track__program", "care_plan")
    readonly_fields = (*ENROLLMENT_LIFECYCLE_FIELDS, "created_at", "updated_at")
    inlines = (ContinuingCarePlanInline,)
    fieldsets = (
        (None, {
            "fields": ("participant", "track", "status"),
            "description": _("Enroll, admit, hold, resume and discharge on the staff pages or "
                             "with the actions on the enrollment list: they keep attendance, "
                             "seats and reminders in step. The continuing-care plan is edited "
                             "below."),
        }),
        (_("Dates"), {"fields": ("admission_date", "planned_end_date", "waitlisted_at",
                                 "seat_offered_at", "held_at", "hold_reason")}),
        (_("Discharge"), {"fields": ("discharge_date", "discharge_reason", "discharge_note")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Enrolling checks capacity, dates and care elsewhere, and writes expected attendance.
        return False

    @admin.display(description=_("care plan"), boolean=True)
    def has_care_plan(self, enrollment: Enrollment) -> bool:
        return hasattr(enrollment, "care_plan")

    def save_formset(self, request, form, formset, change) -> None:
        for plan in formset.save(commit=False):
            _stamp_created_by(request, plan)
            plan.save()
        for plan in formset.deleted_objects:
            plan.delete()


@admin.register(ContinuingCarePlan)
class ContinuingCarePlanAdmin(admin.ModelAdmin):
    list_display = ("enrollment_participant", "enrollment_track", "step_down_level",
                    "step_down_provider", "created_by", "created_at")
    list_filter = ("step_down_level",)
    search_fields = ("enrollment__participant__record_number",
                     "enrollment__participant__first_name", "enrollment__participant__last_name",
                     "step_down_provider")
    date_hierarchy = "created_at"
    list_select_related = ("enrollment__participant", "enrollment__track__program", "created_by")
    autocomplete_fields = ("enrollment",)
    readonly_fields = ("created_by", "created_at")
    fields = ("enrollment", "step_down_level", "step_down_provider", "support_groups", "notes",
              "created_by", "created_at")

    @admin.display(description=_("participant"), ordering="enrollment__participant__last_name")
    def enrollment_participant(self, plan: ContinuingCarePlan) -> Participant:
        return plan.enrollment.participant

    @admin.display(description=_("track"))
    def enrollment_track(self, plan: ContinuingCarePlan):
        return plan.enrollment.track

    def save_model(self, request, obj, form, change) -> None:
        _stamp_created_by(request, obj)
        super().save_model(request, obj, form, change)


@admin.register(PortalLink)
class PortalLinkAdmin(ReadOnlyModelAdmin):
    """Invitation, sign-in and seat-offer links sent to participants: when, to whom, used or not.

    The token's hash is never shown: it is as good as the link for anyone who can look it up.
    """

    list_display = ("participant", "purpose", "created_at", "expires_at", "used_at", "created_by")
    list_filter = ("purpose", "participant__home_site")
    search_fields = ("participant__record_number", "participant__last_name")
    date_hierarchy = "created_at"
    list_select_related = ("participant", "created_by")
    fields = ("participant", "user", "enrollment", "purpose", "created_at", "expires_at",
              "used_at", "created_by")


class DisclosureConsentInline(LabelledTabularInline):
    model = DisclosureConsent
    fk_name = "contact"
    fields = ("scope", "signed_by", "signed_on", "expires_on", "recorded_by", "revoked_at",
              "revoked_by", "revoke_reason")
    readonly_fields = ("recorded_by", "revoked_by")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[DisclosureConsent]:
        return super().get_queryset(request).select_related("recorded_by", "revoked_by")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "participant", "relationship", "is_guardian_of_minor",
                    "reminder_channels", "language", "removed_at")
    list_filter = ("relationship", "is_guardian_of_minor", "language", "reminder_channels")
    search_fields = ("name", "email", "participant__record_number", "participant__last_name")
    list_select_related = ("participant",)
    autocomplete_fields = ("participant",)
    inlines = (DisclosureConsentInline,)
    fieldsets = (
        (None, {"fields": ("participant", "name", "relationship", "is_guardian_of_minor")}),
        (_("Contact and reminders"), {
            "fields": ("email", "phone", "language", "reminder_channels", "sms_consent_at",
                       "sms_revoked_at"),
            "description": _("Nothing is sent to a contact without a standing disclosure "
                             "consent (below)."),
        }),
        (_("Record"), {"fields": ("removed_at",)}),
    )

    def get_changelist(self, request: HttpRequest, **kwargs):
        return PreparedRowsChangeList

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "phone":
            return MobilePhoneField(label=_("Mobile phone"), required=False,
                                    help_text=_("For text reminders, e.g. (201) 555-0123."))
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class StandingDisclosureFilter(admin.SimpleListFilter):
    title = _("revoked")
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return (("no", _("Not revoked")), ("yes", _("Revoked")))

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(DisclosureConsent)
class DisclosureConsentAdmin(admin.ModelAdmin):
    list_display = ("contact", "participant", "signed_by", "signed_on", "expires_on",
                    "revoked_at", "recorded_by")
    list_filter = (StandingDisclosureFilter, "signed_by", "scope")
    search_fields = ("contact__name", "contact__participant__record_number",
                     "contact__participant__last_name")
    date_hierarchy = "signed_on"
    list_select_related = ("contact__participant", "recorded_by")
    autocomplete_fields = ("contact",)
    readonly_fields = ("recorded_at",)

    @admin.display(description=_("participant"), ordering="contact__participant__last_name")
    def participant(self, consent: DisclosureConsent) -> Participant:
        return consent.contact.participant
