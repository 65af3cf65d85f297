"""Track pages that touch the schedule: a track's people and timetable, editing the timetable,
generating sessions (preview first, create on confirmation) and site closures."""
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.utils.formats import date_format

from accounts.access import can_enroll, can_manage_programs

from staff.access import director_required, get_track_or_404, site_ids_for, sites_for, staff_required
from iop_clinic.forms import add_service_errors
from staff.forms.programs import SlotFormSet, TrackForm
from programs.models import Track

from staff.forms.care import ClosureForm, ScheduleUntilForm
from sessions.models import SessionStatus, TherapySession
from sessions.selectors import care
from sessions.selectors.ledger import timetable_hours
from sessions.services.schedule import closure_add, schedule_generate, schedule_preview
from reminders.selectors import notices_noted_people
from sessions.services.timetable import track_timetable_save



@staff_required
def track_detail(request: HttpRequest, pk: int) -> HttpResponse:
    track = get_track_or_404(request.user, pk)
    today = timezone.now().astimezone(track.site.zone).date()
    slots = care.track_slots(track=track)
    return render(request, "staff/programs/track_detail.html", {
        "track": track, "people": care.track_people(track=track),
        "slots": slots, "timetable": timetable_hours(track=track, slots=slots),
        "counts": care.track_session_counts(track=track, today=today),
        "can_enroll": can_enroll(request.user),
        "can_manage": can_manage_programs(request.user),
    })


@director_required
@require_http_methods(["GET", "POST"])
def track_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    site_ids = site_ids_for(request.user)
    track = get_track_or_404(request.user, pk) if pk else Track()
    initial = {}
    if not pk and request.GET.get("program", "").isdigit():
        initial["program"] = request.GET["program"]
    form = TrackForm(request.POST or None, instance=track, site_ids=site_ids, initial=initial)
    formset = SlotFormSet(request.POST or None, instance=track, site_ids=site_ids,
                          prefix="slots")
    if request.method == "POST":
        form_ok = form.is_valid()
        formset_ok = formset.is_valid()
        if form_ok:
            formset.check_rooms_at(form.cleaned_data.get("site"))
            formset_ok = formset_ok and not any(f.errors for f in formset.forms)
        if form_ok and formset_ok:
            try:
                slots = formset.save(commit=False)
                result = track_timetable_save(track=form.save(commit=False), slots=slots,
                                              deleted_slots=formset.deleted_objects)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                note = _("Track saved.")
                moved = result.sessions_changed + result.sessions_removed
                if moved or result.sessions_created or result.sessions_kept:
                    note += " " + _(
                        "Future sessions nobody is marked at followed the timetable: "
                        "%(changed)s changed, %(removed)s removed, %(created)s added; "
                        "%(kept)s kept as they were because attendance is already marked.") % {
                        "changed": result.sessions_changed, "removed": result.sessions_removed,
                        "created": result.sessions_created, "kept": result.sessions_kept}
                messages.success(request, note)
                return redirect("track_detail", pk=result.track.pk)
    return render(request, "staff/programs/track_form.html", {
        "form": form, "formset": formset, "track": track if pk else None,
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
    return render(request, "staff/programs/schedule_preview.html", {
        "track": track, "form": form, "plan": plan,
        "weeks": _preview_weeks(plan) if plan else [],
    })


@director_required
@require_http_methods(["GET", "POST"])
def closure_list(request: HttpRequest) -> HttpResponse:
    sites = sites_for(request.user).order_by("name")
    site_ids = site_ids_for(request.user)
    initial = {"site": site_ids[0]} if site_ids else {}
    form = ClosureForm(request.POST or None, sites=sites, initial=initial)
    cancelled = None
    if request.method == "POST" and form.is_valid():
        site, day = form.cleaned_data["site"], form.cleaned_data["date"]
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
        "cancelled": cancelled,
    })

