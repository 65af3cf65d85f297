"""The "who viewed or changed this chart" page, for program directors."""
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from staff.access import director_required, get_participant_or_404
from staff.forms.audit import TrailFilterForm

from audit.selectors import TrailFilters, TrailPages, trail_actors, trail_record_types
from audit.services import audit_access

# Directors hold these through their role (accounts/roles.py); view only, so the
# audit rows are readable in the app and stay unchangeable everywhere.
TRAIL_PERMISSIONS = ("audit.view_accessevent", "auditlog.view_logentry")
TRAIL_PAGE_SIZE = 50


@never_cache
@director_required
def chart_trail(request: HttpRequest, code) -> HttpResponse:
    if not request.user.has_perms(TRAIL_PERMISSIONS):
        raise PermissionDenied("Viewing the audit trail needs the audit view permissions.")
    participant = get_participant_or_404(request.user, code)
    # Reading who looked at a chart is itself a look at that chart.
    audit_access(request=request, obj=participant, what="audit trail")
    form = TrailFilterForm(request.GET or None, actors=trail_actors(participant=participant),
                           record_types=trail_record_types())
    # Filters that don't make sense are named on the form; the trail stays whole meanwhile.
    filters = (form.filters(zone=participant.home_site.zone) if form.is_bound and form.is_valid()
               else TrailFilters())
    page = Paginator(TrailPages(participant=participant, filters=filters),
                     TRAIL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "staff/audit/chart_trail.html", {
        "participant": participant, "trail": page.object_list, "page_obj": page,
        "form": form, "filtered": filters.any,
    })
