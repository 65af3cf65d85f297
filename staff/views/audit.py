"""The "who viewed or changed this chart" page, for program directors."""
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from staff.access import director_required, get_participant_or_404

from audit.selectors import TrailPages
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
    page = Paginator(TrailPages(participant=participant), TRAIL_PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "staff/audit/chart_trail.html", {
        "participant": participant, "trail": page.object_list, "page_obj": page,
    })
