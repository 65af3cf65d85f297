"""Program and track pages, for program directors only."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from staff.access import director_required, get_program_or_404, site_ids_for
from iop_clinic.forms import add_service_errors

from participants.selectors import track_seats
from programs import selectors
from staff.forms.programs import ProgramForm
from programs.services import program_save



@director_required
def program_list(request: HttpRequest) -> HttpResponse:
    """Programs with their tracks at my sites, each track's seats shown with their parts."""
    programs = list(selectors.program_list(site_ids=site_ids_for(request.user)))
    seats = track_seats(tracks=[t for p in programs for t in p.my_tracks])
    for program in programs:
        for track in program.my_tracks:
            track.seats = seats[track.pk]
    return render(request, "staff/programs/program_list.html", {"programs": programs})


@director_required
def program_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    program = get_program_or_404(request.user, pk) if pk else None
    site_ids = site_ids_for(request.user)
    form = ProgramForm(request.POST or None, instance=program, site_ids=site_ids)
    if request.method == "POST" and form.is_valid():
        try:
            program_save(program=form.save(commit=False),
                         sites=form.cleaned_data["offered_at"], editor_site_ids=site_ids)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Program saved."))
            return redirect("program_list")
    return render(request, "staff/programs/program_form.html", {"form": form, "program": program})
