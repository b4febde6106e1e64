"""Console pages for background exports: POST /exports/ queues one (from the students list,
with its filters, or from /exports/ for every student), /exports/ lists the staff member's own exports,
/exports/<id>/ shows one's progress (followed by console.js while it runs; a "Refresh now"
link without it) and its download link when done."""
from django.conf import settings
from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.permissions import USER_MANAGEMENT_EXPORT
from config.errors import AppError
from console.exports import services
from console.exports.forms import BackgroundExportForm
from console.exports.models import ExportJob
from console.exports.panel import background_export_panel
from console.exports.selectors import access_export_job, export_jobs_of
from console.listing import ListRequest
from console.pages import console_page, not_found

MSG_QUEUED = "Your export is queued; this page shows its progress and the download link when it is done."
MSG_BAD_EXPORT = "This export could not be queued: {reasons}"
WAITING = (ExportJob.State.QUEUED, ExportJob.State.RUNNING)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_EXPORT)
def exports_page(request):
    if request.method == "POST":
        form = BackgroundExportForm(request.POST)
        if form.is_valid():
            listing = ListRequest(request.POST, request.tenant.tzinfo)
            params = QueryDict(mutable=True)
            params.update(listing.selector_params)
            if request.POST.getlist("case_study"):
                params.setlist("case_study", request.POST.getlist("case_study"))
            try:
                job = services.export_job_queue(
                    user=request.user, kind=form.cleaned_data["kind"], file_format=form.cleaned_data["format"],
                    params=params,
                )
            except AppError as error:
                reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in (error.errors or {}).items()) or error.message
                messages.error(request, MSG_BAD_EXPORT.format(reasons=reasons))
                return redirect("console:students")
            messages.success(request, MSG_QUEUED)
            return redirect("console:export", job_id=job.pk)
        messages.error(request, MSG_BAD_EXPORT.format(reasons="choose what to export and a format."))
        return redirect("console:students")
    context = {
        "jobs": export_jobs_of(request.user),
        **background_export_panel(request.user, []),  # every student
    }
    return render(request, "console/exports/list.html", context)


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_EXPORT)
def export_page(request, job_id):
    try:
        job = access_export_job(job_id=job_id, user=request.user, bad_id_is_missing=True)
    except AppError as error:
        return not_found(request, error.message)
    context = {
        "job": job,
        "percent": round(100 * job.progress),
        "waiting": job.state in WAITING,
        "file_hours": settings.EXPORT_FILE_HOURS,
    }
    return render(request, "console/exports/detail.html", context)
