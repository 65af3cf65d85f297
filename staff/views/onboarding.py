"""The census import page, for program directors: upload, dry run, confirm, import.

The uploaded file stays on the server (`CensusUpload`) keyed by its SHA-256; the confirmation
posts that hash back, and the import runs on the stored bytes only if they still hash to it,
so what is imported is exactly the file whose dry run the director read.
"""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from onboarding.columns import ATTENDANCE_COLUMNS, PARTICIPANT_COLUMNS
from onboarding.selectors import census_uploads_of
from onboarding.services import census_upload, census_upload_commit
from onboarding.template_files import TEMPLATES, census_template
from staff.access import director_required
from staff.forms.onboarding import CensusCommitForm, CensusUploadForm

RECENT = 5


def _client(request: HttpRequest) -> dict:
    return {"path": request.path, "remote_addr": request.META.get("REMOTE_ADDR")}


@director_required
def census_import(request: HttpRequest) -> HttpResponse:
    form = CensusUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        upload = census_upload(file_name=file.name, content=file.read(), by=request.user,
                               **_client(request))
        return redirect("census_review", code=upload.code)
    return render(request, "staff/onboarding/census_import.html", {
        "form": form, "recent": census_uploads_of(user=request.user)[:RECENT],
        "participant_columns": PARTICIPANT_COLUMNS, "attendance_columns": ATTENDANCE_COLUMNS,
    })


@director_required
def census_review(request: HttpRequest, code) -> HttpResponse:
    """The dry run's report, or, while a worker checks or imports the file, a box that polls
    this address (htmx) and reloads the page when the work is done."""
    upload = get_object_or_404(census_uploads_of(user=request.user), code=code)
    if request.htmx:
        if upload.is_busy:
            return render(request, "staff/onboarding/_census_busy.html", {"upload": upload})
        return HttpResponseClientRefresh()
    report = upload.report
    only_errors = request.GET.get("errors") == "1"
    rows = [r for r in report.get("rows", []) if r["errors"] or not only_errors]
    sheets = [(kind, [r for r in rows if r["sheet"] == kind])
              for kind in ("participants", "attendance")]
    return render(request, "staff/onboarding/census_review.html", {
        "upload": upload, "report": report, "sheets": [s for s in sheets if s[1]],
        "only_errors": only_errors, "commit_form": CensusCommitForm(initial={"sha256": upload.sha256}),
        "form": CensusUploadForm(),
    })


@director_required
@require_POST
def census_commit(request: HttpRequest, code) -> HttpResponse:
    upload = get_object_or_404(census_uploads_of(user=request.user), code=code)
    form = CensusCommitForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This is not the file that was checked; upload it again."))
        return redirect("census_review", code=upload.code)
    try:
        upload = census_upload_commit(upload=upload, sha256=form.cleaned_data["sha256"],
                                      by=request.user, **_client(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("census_review", code=upload.code)


@director_required
def census_template_download(request: HttpRequest, name: str) -> HttpResponse:
    if name not in TEMPLATES:
        raise Http404
    content, content_type, file_name = census_template(name)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response
