import datetime as dt
import re

import pytest
from django.urls import reverse

from sessions.models import Attendance, AttendanceChange

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

HTMX = {"HTTP_HX_REQUEST": "true"}

# templates/staff/sessions/_roster_row.html as it was for a row without a form (its branch for a
# refused marking, with the form's values and errors, left out: it is still the template's).
# The roster page and a marking's answer print that row written in Python
# (staff/roster_rows.py); this is the markup they must stay equal to, byte for byte.
ROW_TEMPLATE = """{% load l10n %}{% localize off %}{# ids and minutes are not prose: no per-number locale lookups #}
{% with a=row.attendance form=row.form %}
{% if not form %}{# the roster page writes these rows in staff/roster_rows.py (roster_rows_html): keep the two alike #}
<li class="list-group-item roster-row" id="attendance-{{ row.pk }}">
  <form method="post" action="{{ row.mark_url }}"
        hx-post="{{ row.mark_url }}" hx-target="#attendance-{{ row.pk }}" hx-swap="outerHTML"
        class="row g-2 align-items-end">
    {{ csrf_input }}
    <div class="col-12 col-md">
      <a class="fw-semibold" href="{{ row.chart_url }}" id="name-{{ row.pk }}">{{ row.name }}</a>
      <div class="small text-body-secondary">
        <span class="badge {{ row.badge_class }}" data-status="{{ a.status }}">{{ row.status_label }}</span>
        {% if a.enrollment_id and session.track_id and a.enrollment_track_id != session.track_id %}<span class="badge text-bg-light border makeup-badge">Make-up</span>{% endif %}
        {% if a.confirmation %}<span class="badge text-bg-light border" data-confirmation="{{ a.confirmation }}">{{ a.get_confirmation_display }}</span>{% endif %}
        {{ row.minutes_text }}
        {{ row.marked_text }}
        {% if a.note and not markable %}<div>{{ a.note }}</div>{% endif %}
      </div>
    </div>
    {% if markable and row.can_mark %}
    <div class="col-4 col-md-2">
      <label class="form-label small mb-0" for="minutes-{{ row.pk }}">Minutes</label>
      <input class="form-control" type="number" min="0" max="{{ duration }}" inputmode="numeric"
             name="minutes" id="minutes-{{ row.pk }}" placeholder="{{ duration }}"
             value="{{ row.minutes_value }}">
    </div>
    <div class="col-8 col-md-4">
      <label class="form-label small mb-0" for="note-{{ row.pk }}">Note</label>
      <input class="form-control" type="text" maxlength="300" name="note" id="note-{{ row.pk }}"
             value="{{ a.note }}">
    </div>
    <div class="col-12">
      <div class="d-flex flex-wrap gap-2 status-group" role="group" aria-labelledby="name-{{ row.pk }}">
        {{ row.buttons }}
      </div>
    </div>
    {% endif %}
  </form>
</li>
{% endif %}
{% if oob and markable %}{% include "staff/sessions/_rest_present.html" %}{% endif %}
{% endwith %}
{% endlocalize %}
"""  # noqa: E501


def test_it_lists_everyone_expected_with_one_button_per_mark(as_clinician, group_session):
    session, rows = group_session
    page = as_clinician.get(reverse("roster", args=[session.pk])).content.decode()
    for attendance in rows:
        assert attendance.participant.full_name in page
    for label in ["Present", "Late", "Left early", "Absent", "Excused"]:
        assert f">{label}</button>" in page
    assert "Mark the rest present (3)" in page
    # The full session is only a hint: a late arrival must not silently get the whole 180.
    assert 'placeholder="180"' in page and 'value="180"' not in page


def test_it_points_each_row_at_its_own_mark_url_and_chart(as_clinician, group_session):
    session, rows = group_session
    rows[1].status = "absent"
    rows[1].save()
    page = as_clinician.get(reverse("roster", args=[session.pk])).content.decode()
    for attendance in rows:
        mark = reverse("attendance_mark", args=[session.pk, attendance.pk])
        assert f'action="{mark}"' in page and f'hx-post="{mark}"' in page
        assert f'href="{reverse("participant_chart", args=[attendance.participant.code])}"' in page
    row = page.split(f'id="attendance-{rows[1].pk}"')[1].split("</li>")[0]
    assert 'class="badge text-bg-danger" data-status="absent">Absent<' in row
    assert 'value="absent" aria-pressed="true" class="btn btn-tap flex-fill btn-primary"' in row
    assert 'value="present" aria-pressed="false"' in row


def test_it_marks_one_participant_with_an_htmx_tap_and_returns_the_row(as_front_desk,
                                                                        group_session):
    session, (first, *_rest) = group_session
    response = as_front_desk.post(reverse("attendance_mark", args=[session.pk, first.pk]),
                                  {"status": "late", "minutes": "150", "note": ""}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith("<li")
    assert f'id="attendance-{first.pk}"' in body
    assert 'data-status="late"' in body
    first.refresh_from_db()
    assert (first.status, first.minutes_attended) == ("late", 150)


def test_it_works_without_javascript_too(as_front_desk, group_session):
    session, (first, *_rest) = group_session
    response = as_front_desk.post(reverse("attendance_mark", args=[session.pk, first.pk]),
                                  {"status": "present", "minutes": "180"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == "present"


@pytest.mark.parametrize("data", [
    {"status": "present", "minutes": "999"},
    {"status": "present", "minutes": "-5"},
    {"status": "present", "minutes": "lots"},
    {"status": "teleported"},
    {},
    {"status": "present", "note": "x" * 301},
])
def test_it_shows_errors_for_bad_input_and_changes_nothing(as_clinician, group_session, data):
    session, (first, *_rest) = group_session
    response = as_clinician.post(reverse("attendance_mark", args=[session.pk, first.pk]), data,
                                 **HTMX)
    assert response.status_code == 200
    assert "invalid" in response.content.decode() or "alert-danger" in response.content.decode()
    first.refresh_from_db()
    assert first.status == "expected" and first.marked_by is None


def test_it_records_a_later_edit_with_who_and_when(as_clinician, as_front_desk, group_session,
                                                   clinician):
    session, (first, *_rest) = group_session
    url = reverse("attendance_mark", args=[session.pk, first.pk])
    as_front_desk.post(url, {"status": "present", "minutes": "180"}, **HTMX)
    as_clinician.post(url, {"status": "absent"}, **HTMX)
    change = AttendanceChange.objects.get()
    assert change.changed_by == clinician and change.old_status == "present"


def test_it_marks_the_rest_present(as_clinician, group_session):
    session, (first, *_rest) = group_session
    as_clinician.post(reverse("attendance_mark", args=[session.pk, first.pk]),
                      {"status": "absent"}, **HTMX)
    response = as_clinician.post(reverse("roster_rest_present", args=[session.pk]), follow=True)
    assert "Marked 2 present." in response.content.decode()
    assert Attendance.objects.filter(session=session, status="present").count() == 2


def test_it_offers_no_buttons_on_a_cancelled_session_and_refuses_a_forced_post(as_clinician,
                                                                               track):
    session, (first,) = make_group_session(track, size=1, status="cancelled", cancel_reason="Ice")
    page = as_clinician.get(reverse("roster", args=[session.pk])).content.decode()
    assert ">Present</button>" not in page
    assert "cancelled" in page
    as_clinician.post(reverse("attendance_mark", args=[session.pk, first.pk]),
                      {"status": "present"}, **HTMX)
    first.refresh_from_db()
    assert first.status == "expected"


def test_it_says_when_a_future_session_can_be_marked(as_clinician, track):
    session, _ = make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=3))
    page = as_clinician.get(reverse("roster", args=[session.pk])).content.decode()
    assert ">Present</button>" not in page
    assert "has not started; attendance can be marked from Thu, Jan 8, 6:00 PM" in page


def test_it_answers_404_for_an_attendance_of_another_session(as_clinician, track, group_session):
    session, _ = group_session
    _other, (stranger,) = make_group_session(track, size=1, hour=9)
    response = as_clinician.post(reverse("attendance_mark", args=[session.pk, stranger.pk]),
                                 {"status": "present"}, **HTMX)
    assert response.status_code == 404


@pytest.mark.parametrize("size", [2, 15])
def test_it_keeps_a_fixed_query_budget(as_clinician, clinician, track, size,
                                       django_assert_max_num_queries):
    session, rows = make_group_session(track, size=size)
    # Half the rows marked, with minutes, a note, who marked them and a text answer: every
    # column a row shows is read with the roster (a column left out would cost a query a row).
    Attendance.objects.filter(pk__in=[r.pk for r in rows[::2]]).update(
        status="late", minutes_attended=40, note="Bus", marked_by=clinician,
        marked_at=dt.datetime(2026, 1, 5, 18, tzinfo=dt.UTC), confirmation="confirmed")
    with django_assert_max_num_queries(9):
        assert as_clinician.get(reverse("roster", args=[session.pk])).status_code == 200
    # +2: the absence's follow-up is audited; +2: one task per missed day, the absence limit
    with django_assert_max_num_queries(26):
        as_clinician.post(reverse("attendance_mark", args=[session.pk, rows[-1].pk]),
                          {"status": "absent"}, **HTMX)


@pytest.mark.parametrize("markable", [True, False])
def test_its_rows_are_written_as_the_row_template_writes_them(clinician, track, markable):
    """The roster page writes its rows in Python (staff/roster_rows.py), as _roster_row.html
    wrote them when the page included it once a row (ROW_TEMPLATE), byte for byte, for every
    kind of row: marked with minutes and a note, answered by text, a make-up, cancelled."""
    from django.template import Context, Template
    from django.utils.safestring import mark_safe

    from sessions.selectors import pages
    from staff.roster_rows import roster_rows, roster_rows_html
    from staff.views.sessions import AttendanceMarkForm
    from tests import factories

    session, rows = make_group_session(track, size=5)
    Attendance.objects.filter(pk=rows[0].pk).update(
        status="late", minutes_attended=40, note='Bus <"late">', marked_by=clinician,
        marked_at=dt.datetime(2026, 1, 5, 18, tzinfo=dt.UTC), confirmation="cant_come")
    Attendance.objects.filter(pk=rows[1].pk).update(status="cancelled")
    Attendance.objects.filter(pk=rows[2].pk).update(confirmation="confirmed", note="Ride")
    elsewhere = factories.EnrollmentFactory(
        track=factories.TrackFactory(site=track.site, name="Morning track"),
        participant=factories.ParticipantFactory(home_site=track.site))
    factories.AttendanceFactory(session=session, participant=elsewhere.participant,
                                enrollment=elsewhere)
    choices = AttendanceMarkForm.base_fields["status"].choices
    built = roster_rows(session=session, attendances=pages.roster(session=session),
                        choices=choices)
    csrf_input = mark_safe('<input type="hidden" name="csrfmiddlewaretoken" value="t">\n')
    context = {"session": session, "markable": markable, "duration": 180,
               "csrf_input": csrf_input}

    expected = "".join(Template(ROW_TEMPLATE).render(Context({**context, "row": row}))
                       for row in built)

    assert roster_rows_html(rows=built, session=session, markable=markable, duration=180,
                            csrf_input=csrf_input) == expected
    assert "Make-up" in expected and "Can&#x27;t come (by text)" in expected
    assert ("Bus &lt;&quot;late&quot;&gt;" in expected) and 'data-status="cancelled"' in expected


@pytest.mark.parametrize("data", [{"status": "late", "minutes": "150", "note": 'Bus <"late">'},
                                  {"status": "present"}])
def test_a_markings_answer_is_the_row_the_row_template_wrote(as_front_desk, group_session,
                                                             data):
    """A marking's answer prints the marked row written in Python (and the "rest present"
    button out of band): byte for byte what _roster_row.html wrote for it (ROW_TEMPLATE),
    rendered over the view's own context."""
    from django.template import RequestContext, Template

    session, (first, *_rest) = group_session
    response = as_front_desk.post(reverse("attendance_mark", args=[session.pk, first.pk]),
                                  data, **HTMX)
    names = [template.name for template in response.templates]
    context = response.context[names.index("staff/sessions/_roster_row.html")].flatten()
    assert context["row"].form is None and "row_html" in context and context["oob"]

    old = Template(ROW_TEMPLATE).render(RequestContext(response.wsgi_request, context))

    def unmasked(html):  # the out-of-band form's CSRF token is masked afresh each time
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "token", html)

    assert unmasked(response.content.decode()) == unmasked(old)
    assert f'data-status="{data["status"]}"' in old and 'hx-swap-oob="true"' in old


def test_its_sign_in_sheet_rows_are_written_as_the_sheet_template_writes_them(track):
    from django.template.loader import render_to_string

    from sessions.selectors import pages
    from staff.roster_rows import sheet_rows_html

    session, rows = make_group_session(track, size=4)
    Attendance.objects.filter(pk=rows[0].pk).update(status="excused")
    rows[1].participant.last_name = "O'Brien <Jr>"
    rows[1].participant.save()
    sheet_rows = pages.roster(session=session)
    context = {"session": session, "sheet_rows": sheet_rows, "sheet_blank_rows": range(2),
               "printed_at": dt.datetime(2026, 1, 5, 18, tzinfo=dt.UTC)}

    written = render_to_string("staff/sessions/_sign_in_sheet.html", {
        **context, "sheet_rows_html": sheet_rows_html(attendances=sheet_rows)})

    assert written == render_to_string("staff/sessions/_sign_in_sheet.html", context)
    assert "O&#x27;Brien &lt;Jr&gt;" in written and "Excused" in written


def test_it_looks_each_person_up_by_key_rather_than_joining_everyone():
    """The roster's statement reads its rows' people and enrollments by key: joined, PostgreSQL
    hashed every participant and enrollment the clinic ever had for a hundred rows, a cost
    that grew with the clinic's history (what the rows say is held by the test below)."""
    from django.db import connection

    from sessions.selectors import pages

    sql = pages._roster_statement(connection.alias, connection.vendor).sql
    assert 'JOIN "participants_participant"' not in sql
    assert 'JOIN "participants_enrollment"' not in sql
    assert sql.count('FROM "participants_participant"') == 3


def test_its_rows_read_what_the_attendance_models_hold(clinician, track):
    """pages.roster reads plain rows (RosterEntry), not model instances: each must say what
    the Attendance, its participant, its marker and its enrollment say, in the roster's order."""
    from sessions.selectors import pages

    session, rows = make_group_session(track, size=4)
    Attendance.objects.filter(pk=rows[0].pk).update(
        status="late", minutes_attended=40, note="Bus", marked_by=clinician,
        marked_at=dt.datetime(2026, 1, 5, 18, tzinfo=dt.UTC), confirmation="cant_come")
    Attendance.objects.filter(pk=rows[1].pk).update(enrollment=None, confirmation="confirmed")

    entries = pages.roster(session=session)

    expected = sorted(Attendance.objects.filter(session=session).select_related(
        "participant", "marked_by", "enrollment"),
        key=lambda a: (a.participant.last_name, a.participant.first_name, a.pk))
    assert [e.pk for e in entries] == [a.pk for a in expected]
    for entry, a in zip(entries, expected, strict=True):
        assert (entry.status, entry.minutes_attended, entry.note, entry.marked_at,
                entry.confirmation, entry.enrollment_id, entry.marked_by_id) == (
            a.status, a.minutes_attended, a.note, a.marked_at, a.confirmation,
            a.enrollment_id, a.marked_by_id)
        assert entry.get_confirmation_display() == a.get_confirmation_display()
        assert entry.enrollment_track_id == (a.enrollment.track_id if a.enrollment else None)
        assert (entry.marked_by_username, entry.marked_by_first_name) == (
            (a.marked_by.username, a.marked_by.first_name) if a.marked_by else (None, None))
        assert (entry.participant.code, entry.participant.full_name,
                entry.participant.last_name) == (a.participant.code, a.participant.full_name,
                                                 a.participant.last_name)
    assert pages.roster_row(attendance_pk=rows[0].pk, session=session) in entries
    with pytest.raises(Attendance.DoesNotExist):
        pages.roster_row(attendance_pk=rows[0].pk, session=make_group_session(track, size=1)[0])
