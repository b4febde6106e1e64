"""Students' data rights on a student's page, for staff who manage them (DATA_RIGHTS.can_manage):
"Download data (ZIP)" and the erasure form. Both call attempts.data_rights.services, as the API
does, so the file, the rules, the refusals and the audit events are the same. A refused erasure
draws the student's page again with the form and its error."""
from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from accounts.permissions import DATA_RIGHTS_MANAGE
from attempts.data_rights import services
from attempts.data_rights.archive import MEDIA_TYPE
from config.errors import NOT_FOUND, AppError
from console.data_rights.forms import EraseForm
from console.pages import apply_service_errors, console_page, form_refused, student_not_found
from console.students.views import render_student_detail
from students.listing.selectors import student_get

MSG_ERASED = "Erased this student’s personal data; the record is now “{pseudonym}”. Scores and counts are kept."


@require_http_methods(["GET", "HEAD"])
@console_page(DATA_RIGHTS_MANAGE)
def student_data_download(request, user_id):
    try:
        export = services.student_data_export(user_id=user_id, tenant=request.tenant)
    except AppError:
        return student_not_found(request)
    response = FileResponse(export.file, as_attachment=True, filename=export.file_name, content_type=MEDIA_TYPE)
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(DATA_RIGHTS_MANAGE)
def student_erase(request, user_id):
    """Done: back to the student's page, saying so. Refused (no reason, not confirmed, a legal
    hold, erased already): the page again with the form's error, 400 or 409. A GET (that page's
    address, reloaded) leads to the student's page."""
    if request.method != "POST":
        return redirect("console:student", user_id)
    form = EraseForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            erasure = services.student_erase(user_id=user_id, reason=form.cleaned_data["reason"])
        except AppError as error:
            if error.code == NOT_FOUND or "user_id" in (error.errors or {}):
                return student_not_found(request)
            apply_service_errors(form, error, {})
            status = error.status_code
        else:
            messages.success(request, MSG_ERASED.format(pseudonym=erasure.student.student_name))
            return redirect("console:student", user_id)
    try:
        student = student_get(user_id)
    except AppError:
        return student_not_found(request)
    form_refused(request)
    return render_student_detail(request, student, status=status, erase_form=form)
