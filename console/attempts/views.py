"""Attempts in the console's pages: the attempt page (the transcript as a conversation and the
grade report, from the same reads as the student-performance API), and the grant and revoke
forms of a student's page, which go through the attempts services the JSON API calls: they look
the ids up, check the rules (1-10 attempts, assignment, conflicts) and answer with the card's
new numbers; a refusal draws the student's page again with the form and its errors."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import ATTEMPTS_MANAGE, STUDENT_PERFORMANCE_VIEW, USER_MANAGEMENT_VIEW, has_permission
from attempts.grants.services import MSG_STUDENT_UNKNOWN, attempts_grant, attempts_revoke
from attempts.performance.selectors import attempt_detail as attempt_detail_read
from attempts.performance.selectors import attempt_grade, performance_session_get
from attempts.performance.services import attempt_transcript_open
from config.errors import AppError
from console.attempts.forms import AttemptChangeForm
from console.pages import (
    apply_service_errors,
    console_page,
    forbidden,
    form_refused,
    not_found,
    plural,
    student_not_found,
)
from console.students.views import render_student_detail
from students.listing.selectors import student_get

MSG_ATTEMPT_NOT_FOUND = "No attempt with this id exists here."
MSG_GRANTED = "Granted {n} extra attempt{s} on “{title}”. Allowed now: {allowed}."
MSG_REVOKED = "Revoked {n} extra attempt{s} on “{title}”. Allowed now: {allowed}."


@require_http_methods(["GET", "HEAD"])
@console_page(STUDENT_PERFORMANCE_VIEW)
def attempt_detail(request, session_id):
    """The same reads as the student-performance API. Queries: the session with student and
    case study; its card (sessions, case-study programmes, grant totals) for the label, the
    final-score marker and the used/allowed badge; transcript messages (when the status lets
    them be shown); grade report; criteria (when graded)."""
    session = performance_session_get(session_id=session_id)
    if session is None:
        return not_found(request, MSG_ATTEMPT_NOT_FOUND)
    detail = attempt_detail_read(session=session)
    context = {
        "session": session,
        "student": session.student,
        "card": detail.card,
        "attempt": detail,
        "transcript": attempt_transcript_open(session=session),
        "grade": attempt_grade(session=session),
        "can_view_student": has_permission(request.user, USER_MANAGEMENT_VIEW),
    }
    return render(request, "console/attempts/detail.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_VIEW)
def student_attempts_change(request, user_id):
    """A grant or revoke form of a student's case-study card (field `action`). Done: back to the
    card on the student's page, the sentence shown on it. Refused: the student's page again
    (400) with the form, its errors beside its fields. A GET (that page's address, reloaded)
    leads to the student's page."""
    if request.method != "POST":
        return redirect("console:student", user_id)
    if not has_permission(request.user, ATTEMPTS_MANAGE):
        return forbidden(request, ATTEMPTS_MANAGE)
    form = AttemptChangeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        action = data["action"]
        change_attempts = attempts_grant if action == "grant" else attempts_revoke
        try:
            change = change_attempts(
                user_id=user_id,
                case_study_id=data["case_study"],
                attempts=data["attempts"],
                reason=data["reason"],
                actor=request.user,
            )
        except AppError as error:
            if "user_id" in (error.errors or {}) and error.errors["user_id"] == [MSG_STUDENT_UNKNOWN]:
                return student_not_found(request)
            apply_service_errors(form, error, {"case_study_id": "case_study", "__all__": "attempts"})
        else:
            card = change.card
            message = MSG_GRANTED if action == "grant" else MSG_REVOKED
            n = data["attempts"]
            messages.success(
                request,
                message.format(n=n, s=plural(n), title=card.case_study.title, allowed=card.attempts_allowed),
                extra_tags=f"card cs-{card.case_study.pk}",  # shown on the card that changed
            )
            url = reverse("console:student", args=[user_id])
            return redirect(f"{url}#cs-{card.case_study.pk}")
    try:
        student = student_get(user_id)
    except AppError:
        return student_not_found(request)
    form_refused(request)
    return render_student_detail(request, student, change_form=form, status=400)
