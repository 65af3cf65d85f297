"""Track pages that touch the schedule: a track's people and timetable, the schedule builder (a
small page to add, move or remove each line), generating sessions (preview first, create on
confirmation) and site closures."""
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.utils.formats import date_format

from accounts.access import can_enroll, can_manage_programs

from staff.access import director_required, get_track_or_404, site_ids_for, sites_for, staff_required
from iop_clinic.formatting import clock
from iop_clinic.forms import add_service_errors
from staff.forms.programs import SlotForm, TrackForm
from programs.models import Track, WeeklySlot
from programs.services import track_save

from staff.forms.care import ClosureForm, NotifyForm, ScheduleUntilForm
from sessions.models import SessionStatus, TherapySession
from sessions.selectors import care
from sessions.selectors.ledger import timetable_hours
from sessions.services.schedule import (
    closure_add, schedule_generate, schedule_preview, weekly_slot_delete, weekly_slot_update,
)
from reminders.selectors import notice_people_count, notices_noted_people
from staff.timetable_rows import preview_grid, timetable_grid
from staff.track_rows import in_care_html, slots_html



@staff_required
def track_detail(request: HttpRequest, pk: int) -> HttpResponse:
    track = get_track_or_404(request.user, pk)
    today = timezone.now().astimezone(track.site.zone).date()
    slots = care.track_slots(track=track)
    people = care.track_people(track=track)
    return render(request, "staff/programs/track_detail.html", {
        "track": track, "people": people,
        "in_care_html": in_care_html(people=people.in_care),
        "slots": slots, "slots_html": slots_html(slots=slots),
        "timetable": timetable_hours(track=track, slots=slots),
        "counts": care.track_session_counts(track=track, today=today),
        "can_enroll": can_enroll(request.user),
        "can_manage": can_manage_programs(request.user),
    })


@director_required
@require_http_methods(["GET", "POST"])
def track_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A track's own fields; its weekly timetable has a page of its own (`track_timetable`)."""
    site_ids = site_ids_for(request.user)
    track = get_track_or_404(request.user, pk) if pk else Track()
    initial = {}
    if not pk and request.GET.get("program", "").isdigit():
        initial["program"] = request.GET["program"]
    form = TrackForm(request.POST or None, instance=track, site_ids=site_ids, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = track_save(track=form.save(commit=False))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if pk:
                messages.success(request, _("Track saved."))
                return redirect("track_detail", pk=saved.pk)
            messages.success(request, _("Track saved. Now add its weekly slots."))
            return redirect("track_timetable", pk=saved.pk)
    return render(request, "staff/programs/track_form.html", {
        "form": form, "track": track if pk else None,
    })


# --- The schedule builder: a track's weekly timetable, a small page per action ---------------

def _slot_or_404(request: HttpRequest, pk: int, slot_pk: int) -> tuple[Track, WeeklySlot]:
    track = get_track_or_404(request.user, pk)
    slot = get_object_or_404(
        WeeklySlot.objects.select_related("session_type", "room", "facilitator"),
        pk=slot_pk, track=track)
    slot.track = track
    return track, slot


def _slot_name(slot: WeeklySlot) -> str:
    """"Monday 6:00 PM, Process group": how the builder's messages name a line."""
    return f"{slot.get_weekday_display()} {clock(slot.start_time)}, " + (
        slot.title or slot.session_type.name)


def _moved_note(result) -> str:
    moved = result.updated + result.removed
    if not (moved or result.created or result.kept):
        return ""
    return " " + _(
        "Future sessions nobody is marked at followed it: %(changed)s changed, %(removed)s "
        "removed, %(created)s added; %(kept)s kept as they were because attendance is already "
        "marked.") % {"changed": result.updated, "removed": result.removed,
                      "created": result.created, "kept": result.kept}


@director_required
def track_timetable(request: HttpRequest, pk: int) -> HttpResponse:
    """The week as a timetable: every line by day and time, each opening its own small page."""
    track = get_track_or_404(request.user, pk)
    slots = care.track_slots(track=track)
    return render(request, "staff/programs/timetable.html", {
        "track": track, "slots": slots, "grid": timetable_grid(slots=slots, track_pk=track.pk),
        "hours": timetable_hours(track=track, slots=slots),
    })


@director_required
@require_http_methods(["GET", "POST"])
def slot_add(request: HttpRequest, pk: int) -> HttpResponse:
    track = get_track_or_404(request.user, pk)
    weekday = request.GET.get("weekday", "")
    initial = {"weekday": int(weekday)} if weekday.isdigit() and int(weekday) < 7 else {}
    form = SlotForm(request.POST if request.method == "POST" else None, track=track,
                    initial=initial)
    if request.method == "POST" and form.is_valid():
        slot = WeeklySlot(track=track, **form.slot_fields())
        try:
            track_save(track=track, slots=[slot])
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            note = _("%(slot)s added.") % {"slot": _slot_name(slot)}
            if track.scheduled_until:
                note += " " + _("Generate the schedule again to create its sessions.")
            messages.success(request, note)
            return redirect("track_timetable", pk=track.pk)
    return render(request, "staff/programs/slot_form.html", {
        "track": track, "form": form, "slot": None,
    })


@director_required
@require_http_methods(["GET", "POST"])
def slot_change(request: HttpRequest, pk: int, slot_pk: int) -> HttpResponse:
    """Move a line to another day or time, or change what, who and where."""
    track, slot = _slot_or_404(request, pk, slot_pk)
    form = SlotForm(request.POST if request.method == "POST" else None, track=track,
                    initial=SlotForm.initial_for(slot), notify=True)
    if request.method == "POST" and form.is_valid():
        fields = form.slot_fields()
        changes = {name: value for name, value in fields.items()
                   if getattr(slot, name) != value}
        try:
            result = weekly_slot_update(slot=slot, notify=form.cleaned_data["notify"],
                                        **changes) if changes else None
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            note = _("%(slot)s saved.") % {"slot": _slot_name(result.slot if result else slot)}
            messages.success(request, note + (_moved_note(result) if result else ""))
            return redirect("track_timetable", pk=track.pk)
    return render(request, "staff/programs/slot_form.html", {
        "track": track, "form": form, "slot": slot,
        "ahead": care.slot_sessions_ahead(slot=slot, now=timezone.now()),
        "notice_people": _slot_notice_people(slot),
    })


def _slot_notice_people(slot: WeeklySlot) -> int:
    """How many people a move or removal of this line's sessions would tell."""
    return notice_people_count(
        session_ids=care.slot_session_ids_to_move(slot=slot, now=timezone.now()))


@director_required
@require_http_methods(["GET", "POST"])
def slot_remove(request: HttpRequest, pk: int, slot_pk: int) -> HttpResponse:
    """Ask first; removing takes the line's future sessions nobody is marked at with it."""
    track, slot = _slot_or_404(request, pk, slot_pk)
    form = NotifyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            removed = weekly_slot_delete(slot=slot, notify=form.cleaned_data["notify"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _(
                "%(slot)s removed, with %(count)s future session(s) nobody was marked at.") % {
                "slot": _slot_name(slot), "count": removed})
        return redirect("track_timetable", pk=track.pk)
    return render(request, "staff/programs/slot_remove.html", {
        "track": track, "slot": slot, "form": form,
        "ahead": care.slot_sessions_ahead(slot=slot, now=timezone.now()),
        "notice_people": _slot_notice_people(slot),
    })


def _preview_weeks(plan) -> list[dict]:
    """Proposed sessions grouped by ISO week, for the preview table."""
    weeks: dict[date, dict] = {}
    for proposed in plan.sessions:
        monday = date.fromordinal(proposed.local_date.toordinal() - proposed.local_date.weekday())
        week = weeks.setdefault(monday, {"monday": monday, "count": 0, "conflicts": []})
        week["count"] += 1
        week["conflicts"].extend(proposed.conflicts)
    return [weeks[k] for k in sorted(weeks)]


@director_required
@require_http_methods(["GET", "POST"])
def schedule_generate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows what would be created; only a POST (the confirmation) creates it."""
    track = get_track_or_404(request.user, pk)
    form = ScheduleUntilForm(request.POST or request.GET or None)
    until = form.cleaned_data["until"] if form.is_bound and form.is_valid() else None
    plan = error = None
    if not form.is_bound or form.is_valid():
        if request.method == "POST":
            skip = request.POST.get("skip_conflicts") == "1"
            try:
                result = schedule_generate(track=track, until=until, skip_conflicts=skip)
            except ValidationError as exc:
                error = exc
            else:
                text = _("%(count)s sessions created.") % {"count": result.created}
                if result.skipped_closures:
                    text += " " + _("Closed days skipped: %(days)s.") % {"days": ", ".join(
                        date_format(d, "MONTH_DAY_FORMAT") for d in result.skipped_closures)}
                if result.conflicts:
                    text += " " + _("%(count)s clashing sessions were left out.") % {
                        "count": len(result.conflicts)}
                messages.success(request, text)
                return redirect("track_detail", pk=track.pk)
        try:
            plan = schedule_preview(track=track, until=until)
        except ValidationError as exc:
            error = error or exc
    if error is not None:
        add_service_errors(form, error)
    grid, grid_week = preview_grid(plan=plan) if plan else (None, None)
    return render(request, "staff/programs/schedule_preview.html", {
        "track": track, "form": form, "plan": plan,
        "weeks": _preview_weeks(plan) if plan else [],
        "grid": grid, "grid_week": grid_week,
    })


@director_required
@require_http_methods(["GET", "POST"])
def closure_list(request: HttpRequest) -> HttpResponse:
    sites = sites_for(request.user).order_by("name")
    site_ids = site_ids_for(request.user)
    initial = {"site": site_ids[0]} if site_ids else {}
    form = ClosureForm(request.POST or None, sites=sites, initial=initial)
    cancelled = preview = None
    if request.method == "POST" and form.is_valid():
        site, day = form.cleaned_data["site"], form.cleaned_data["date"]
        session_ids = care.closure_session_ids(site_id=site.pk, day=day)
        token = f"{site.pk}:{day.isoformat()}"
        if session_ids and request.POST.get("confirmed") != token:
            # First say what it would do: how many sessions go, and how many people would be
            # told (the box can still be unticked). This very site and day is then confirmed.
            preview = {"token": token, "site": site, "day": day, "sessions": len(session_ids),
                       "people": notice_people_count(session_ids=session_ids)}
    if request.method == "POST" and form.is_valid() and preview is None:
        started = timezone.now()
        try:
            closure_add(site=site, date=day, reason=form.cleaned_data["reason"],
                        notify=form.cleaned_data["notify"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            # The sessions that closure cancelled, to show the director what changed.
            cancelled = list(TherapySession.objects.filter(
                site=site, local_date=day, status=SessionStatus.CANCELLED,
                cancelled_at__gte=started)
                .select_related("track", "participant", "session_type").order_by("starts_at"))
            messages.success(request, _("%(site)s is closed on %(day)s; %(count)s session(s) "
                                        "cancelled; %(told)s people will be told.") % {
                "site": site.name, "day": date_format(day), "count": len(cancelled),
                "told": notices_noted_people(session_ids=[s.pk for s in cancelled])})
            form = ClosureForm(sites=sites, initial=initial)
    today = timezone.localdate()
    return render(request, "staff/programs/closures.html", {
        "form": form, "closures": care.site_closures(site_ids=site_ids, today=today),
        "cancelled": cancelled, "preview": preview,
    })

