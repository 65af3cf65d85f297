"""Helpers shared by the apps' admin modules."""
import zoneinfo
from collections.abc import Callable, Iterable
from typing import TypeVar
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.db import models
from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

T = TypeVar("T")


class SharedChoicesInlineMixin:
    """Render each foreign-key dropdown of an inline from one query, however many rows it has.

    Rows also drop the add/change/delete/view icons beside each dropdown: repeated on every line
    they crowd the table, and the main admin pages do those jobs.

    Django builds a fresh ModelChoiceField per inline form and each one runs its own query, so a
    track with 40 weekly slots would cost 40 queries per dropdown. The evaluated choices are kept
    on the request; validation on save still goes through the field's queryset.
    """

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is None or request is None:
            return formfield
        cache = request.__dict__.setdefault("_admin_shared_choices", {})
        key = (self.model, db_field.name)
        if key not in cache:
            # iter() first: list() would ask the iterator's len(), an extra COUNT query.
            cache[key] = [*iter(formfield.choices)]
        formfield.choices = cache[key]
        return formfield

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if isinstance(widget, RelatedFieldWidgetWrapper):
            widget.can_add_related = widget.can_change_related = False
            widget.can_delete_related = widget.can_view_related = False
        return formfield


def changelist_url(model_key: str, **lookups: str) -> str:
    """The admin changelist URL of "app_label.model", pre-filtered with `lookups`.

    Takes a string so an app can link to a later app's admin without importing it.
    """
    app_label, model_name = model_key.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(lookups)}" if lookups else url


class ReadOnlyMixin:
    """No add, change or delete: for a model admin or an inline whose rows only services write.

    The view permission is still needed to see the pages, so roles decide who reads them.
    """

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyModelAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """For history and workflow rows that only their services write: to read, never to edit."""


def run_each(modeladmin: admin.ModelAdmin, request: HttpRequest, objects: Iterable[T],
             service_call: Callable[[T], object]) -> int:
    """Call a service for each selected object; report each refusal and return the successes.

    One refusal must not stop an admin action on the other rows, and staff need to see which
    row was refused and why.
    """
    succeeded = 0
    for obj in objects:
        try:
            service_call(obj)
        except ValidationError as error:
            modeladmin.message_user(request, f"{obj}: {' '.join(error.messages)}", messages.ERROR)
        else:
            succeeded += 1
    return succeeded


# The rendered text of a changelist's media, per script prefix, part and media: the same few
# lists of static files on every page of a list. Every change of settings forgets them.
_kept_media: dict[tuple, SafeString] = {}
_MAX_KEPT_MEDIA = 64


@receiver(setting_changed)
def _forget_media(**kwargs) -> None:
    _kept_media.clear()


def _plain_media(media: forms.Media) -> bool:
    """Only paths (str), no Script or other object with its own markup: their text is the key."""
    return (all(type(path) is str for paths in media._js_lists for path in paths)
            and all(type(medium) is str and type(path) is str
                    for css in media._css_lists for medium, paths in css.items()
                    for path in paths))


class KeptMedia:
    """A forms.Media as a template reads it ({{ media }}, {{ media.js }}, {{ media.css }}),
    each text rendered once a process: Media renders through static() and format_html, one
    file at a time, each page (about 0.2 ms of the participants changelist). The text depends
    on the paths, the static files' settings and the script prefix (in the key)."""

    def __init__(self, media: forms.Media) -> None:
        self._media = media

    def _text(self, part: str | None) -> SafeString:
        media = self._media if part is None else self._media[part]
        key = (get_script_prefix(), part, repr(self._media._css_lists),
               repr(self._media._js_lists))
        text = _kept_media.get(key)
        if text is None:
            text = media.render()
            if len(_kept_media) < _MAX_KEPT_MEDIA:
                _kept_media[key] = text
        return text

    def __getitem__(self, part: str) -> SafeString:
        if part not in forms.widgets.MEDIA_TYPES:
            raise KeyError(part)
        return self._text(part)

    def __str__(self) -> SafeString:
        return self._text(None)

    def __html__(self) -> SafeString:
        return self._text(None)


class FastChangelistMixin:
    """A changelist of 50 rows whose selection checkboxes are built with format_html.

    Django renders each row's checkbox through the form-widget template engine, about a third of
    a changelist's time at 100 rows; the markup here is the same as Django's. Its media are
    rendered once a process (KeptMedia)."""

    list_per_page = 50

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None and type(context.get("media")) is forms.Media \
                and _plain_media(context["media"]):
            context["media"] = KeptMedia(context["media"])
        return response

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME, obj.pk,
            format_html(_("Select this object for an action - {}"), obj))


class LabelledInlineMixin:
    """Give each control of a tabular inline its column's name (axe: select-name, label).

    Django's tabular inline writes the field's label once, as the column header, so a screen
    reader meets a row of unnamed dropdowns and boxes; an aria-label on each widget names them.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None:
            widget = getattr(formfield.widget, "widget", formfield.widget)
            widget.attrs.setdefault("aria-label", str(formfield.label or db_field.verbose_name))
        return formfield

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class LabelledFormSet(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:
                    form.fields["DELETE"].widget.attrs.setdefault("aria-label", str(_("Delete")))

        LabelledFormSet.__name__ = formset.__name__
        return LabelledFormSet


class LabelledTabularInline(LabelledInlineMixin, admin.TabularInline):
    """The tabular inline every app uses: its controls are named (see LabelledInlineMixin)."""


class SiteClockMixin:
    """A change page whose times read and are typed at its row's site's clock, not UTC.

    Django shows a form's datetimes, and reads what is typed into them, in the current time zone,
    which in the admin is settings.TIME_ZONE (UTC); staff move a session by their site's clock.
    `site_time_zone_path` leads from the row to its site's time zone ("site__time_zone").
    """

    site_time_zone_path: str

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        name = None
        if object_id is not None:
            try:
                name = (self.model._default_manager.filter(pk=unquote(object_id))
                        .values_list(self.site_time_zone_path, flat=True).first())
            except (ValueError, ValidationError):
                name = None  # Django's own lookup answers a bad id
        if not name:
            return super().changeform_view(request, object_id, form_url, extra_context)
        with timezone.override(zoneinfo.ZoneInfo(name)):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # a TemplateResponse renders late, after the override ended
        return response
