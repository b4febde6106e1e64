"""The attempt page: the transcript as a conversation and the grade report, from the same
reads as the student-performance API."""
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.permissions import STUDENT_PERFORMANCE_VIEW, USER_MANAGEMENT_VIEW, has_permission
from attempts.performance.selectors import attempt_detail as attempt_detail_read
from attempts.performance.selectors import attempt_grade, performance_session_get
from attempts.performance.services import attempt_transcript_open
from console.pages import console_page, not_found

MSG_ATTEMPT_NOT_FOUND = "No attempt with this id exists here."


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
