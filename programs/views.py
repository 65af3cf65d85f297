"""Program and track pages, for program directors only."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from iop_clinic.accounts.access import director_required, get_track_or_404, site_ids_for

from . import selectors
from .forms import ProgramForm, SlotFormSet, TrackForm
from .models import Program, Track
from .services import program_save, track_save


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@director_required
def program_list(request: HttpRequest) -> HttpResponse:
    programs = selectors.program_list(site_ids=site_ids_for(request.user))
    return render(request, "programs/program_list.html", {"programs": programs})


@director_required
def program_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    program = get_object_or_404(Program, pk=pk) if pk else None
    form = ProgramForm(request.POST or None, instance=program)
    if request.method == "POST" and form.is_valid():
        try:
            program_save(program=form.save(commit=False))
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Program saved."))
            return redirect("program_list")
    return render(request, "programs/program_form.html", {"form": form, "program": program})


@director_required
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
                track_save(track=form.save(commit=False), slots=slots,
                           deleted_slots=formset.deleted_objects)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("Track saved."))
                return redirect("program_list")
    return render(request, "programs/track_form.html", {
        "form": form, "formset": formset, "track": track if pk else None,
    })
