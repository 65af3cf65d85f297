"""`RowUrl` completes the same URL `reverse` gives, under whatever prefix the site is served at,
although it keeps the reversed halves of argument-less URL names per process."""
import uuid

from django.urls import reverse, set_script_prefix

from iop_clinic import fixed_urls
from iop_clinic.page_rows import PLACEHOLDER_CODE, RowUrl, choice_labels


def test_row_urls_match_reverse_and_follow_the_script_prefix():
    code = uuid.uuid4()
    assert RowUrl("participant_chart", placeholder=PLACEHOLDER_CODE)(code) == reverse(
        "participant_chart", args=[code])
    assert RowUrl("followup_detail")(42) == reverse("followup_detail", args=[42])
    set_script_prefix("/clinic/")
    try:
        url = RowUrl("participant_chart", placeholder=PLACEHOLDER_CODE)(code)
        assert url == reverse("participant_chart", args=[code])
        assert url.startswith("/clinic/")
    finally:
        set_script_prefix("/")
    assert RowUrl("followup_detail")(42) == reverse("followup_detail", args=[42])


def test_leading_arguments_are_not_kept():
    before = dict(fixed_urls._urls)
    assert RowUrl("attendance_mark", args=(7,))(9) == reverse("attendance_mark", args=[7, 9])
    assert RowUrl("attendance_mark", args=(8,))(9) == reverse("attendance_mark", args=[8, 9])
    assert not [key for key in fixed_urls._urls
                if key not in before and key[0] == "attendance_mark"]


def test_choice_labels_are_those_get_display_shows_in_each_language():
    from django.utils import translation

    from reminders.models import Reminder, ReminderChannel

    reminder = Reminder(channel=ReminderChannel.EMAIL)
    for language in ("en", "es", "en"):
        with translation.override(language):
            labels = choice_labels(Reminder, "channel")
            assert labels[ReminderChannel.EMAIL] == reminder.get_channel_display()
            assert set(labels) == {value for value, _label in ReminderChannel.choices}
    with translation.override("es"):
        assert choice_labels(Reminder, "channel")[ReminderChannel.EMAIL] == "Correo electrónico"


def test_the_label_filter_shows_what_get_display_shows_for_every_choice():
    """`{{ obj|label:"field" }}` (iop_clinic.choice_labels, the chart's labels) prints what
    `{{ obj.get_field_display }}` printed, for every choice of every field the chart labels so,
    in each language, and a value outside the choices as itself."""
    from django.template import Context, Template
    from django.utils import translation

    from participants.models import (
        Contact,
        ContactConsent,
        ContinuingCarePlan,
        DisclosureConsent,
        Enrollment,
        Participant,
    )
    from reminders.models import Reminder

    fields = {Participant: ["reminder_channels", "language"], ContactConsent: ["channel", "source"],
              Enrollment: ["status", "discharge_reason"], ContinuingCarePlan: ["step_down_level"],
              Contact: ["relationship", "language", "reminder_channels"],
              DisclosureConsent: ["signed_by"],
              Reminder: ["kind", "channel", "status", "reason"]}
    for model, names in fields.items():
        for name in names:
            source = Template('{% load choice_labels %}{{ obj|label:"' + name + '" }}|'
                              "{{ obj.get_" + name + "_display }}")
            values = [value for value, _label in model._meta.get_field(name).flatchoices]
            for value in [*values, "not-a-choice", ""]:
                obj = model(**{name: value})
                for language in ("en", "es"):
                    with translation.override(language):
                        new, old = source.render(Context({"obj": obj})).split("|")
                    assert new == old, (model.__name__, name, value, language)


def test_escaped_once_escapes_each_text_as_html_escape_does():
    from html import escape

    from iop_clinic.page_rows import EscapedOnce

    escaped = EscapedOnce()
    for text in ('<b>"Ana" & O\'Neil</b>', "Group room", '<b>"Ana" & O\'Neil</b>', ""):
        assert escaped[text] == escape(text)
    assert len(escaped) == 3  # each distinct text kept once


def test_template_text_writes_what_a_template_writes_for_each_kind_of_value():
    import datetime
    from decimal import Decimal

    from django.template import engines
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy, override

    from iop_clinic.page_rows import template_text

    template = engines["django"].from_string("{{ value }}")
    values = ['<b>"Ana" & O\'Neil</b>', mark_safe("<em>kept</em>"), gettext_lazy("Group"), 1500,
              Decimal("12.5"), 2.25, datetime.date(2026, 12, 2), None, "", True]
    for language in ("en", "es"):  # localized numbers and dates differ
        with override(language):
            for value in values:
                assert template_text(value) == template.render({"value": value}), value
