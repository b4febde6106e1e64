"""Pages of the HTML console. Thin: reads come from the students and attempts selectors (the
same ones the JSON API and the export use), writes go through the attempts services.

Every page: anonymous -> redirect to login; signed in without the permission -> 403 page;
times are shown in the tenant's time zone.
"""
import functools
import math

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import (
    ATTEMPTS_MANAGE,
    STUDENT_PERFORMANCE_VIEW,
    USER_MANAGEMENT_EXPORT,
    USER_MANAGEMENT_VIEW,
    has_permission,
)
from attempts.models import AttemptGrant
from attempts.performance_selectors import (
    AttemptDetail,
    attempt_grade,
    attempt_transcript,
    performance_session_get,
)
from attempts.selectors import student_attempt_totals, student_case_study_card, student_case_study_cards
from attempts.services import attempts_grant, attempts_grant_bulk, attempts_revoke
from config.errors import AppError
from console import dashboard as dashboard_data
from console.forms import MAX_REASON_LENGTH, AttemptChangeForm, BulkGrantForm, LoginForm
from console.listing import PAGE_SIZES, ListRequest
from students.models import Programme, Student
from students.selectors import student_get, student_list

MSG_SIGNED_IN = "Signed in as {name}."
MSG_SIGNED_OUT = "You have been signed out."
MSG_GRANTED = "Granted {n} extra attempt{s} on “{title}”. Allowed now: {allowed}."
MSG_REVOKED = "Revoked {n} extra attempt{s} on “{title}”. Allowed now: {allowed}."
MSG_BULK_GRANTED = "Granted {n} extra attempt{s} on “{title}” to {count} student{cs}."
MSG_FIX_ERRORS = "Nothing was changed. Fix the highlighted fields and try again."
MSG_STUDENT_NOT_FOUND = "No student with this id exists here."
MSG_ATTEMPT_NOT_FOUND = "No attempt with this id exists here."
GRANT_HISTORY_LIMIT = 100


def _plural(n):
    return "" if n == 1 else "s"


def console_page(permission):
    """Anonymous -> login redirect; lacking `permission` -> the 403 page; tenant time zone active."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not has_permission(request.user, permission):
                return forbidden(request, permission)
            with timezone.override(request.tenant.tzinfo):
                return view(request, *args, **kwargs)

        return wrapped

    return decorator


def forbidden(request, permission):
    return render(request, "console/403.html", {"permission": permission}, status=403)


def not_found(request, message):
    return render(request, "console/404.html", {"message": message}, status=404)


def _apply_service_errors(form, error, field_map):
    """Put an AppError's field errors beside the form's fields; the rest on the form itself.
    Keys like `user_ids[3]` (one bad id of a list) go beside the list's field."""
    placed = False
    for key, msgs in (error.errors or {}).items():
        key = key.split("[", 1)[0]
        field = field_map.get(key, key)
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)
            placed = True
    if not placed:
        form.add_error(field_map.get("__all__"), error.message)


# Sign in / out -------------------------------------------------------------------------


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        messages.success(self.request, MSG_SIGNED_IN.format(name=user.full_name or user.email))
        return response


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "console:login"

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, MSG_SIGNED_OUT)
        return response


def home(request):
    if not request.user.is_authenticated:
        return redirect("console:login")
    return redirect("console:students")


# Students list -------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_VIEW)
def students_list(request):
    """The list; a POST runs the bulk grant on the ticked rows and comes back to the same URL."""
    if request.method == "POST":
        return _students_bulk_grant(request)
    return _render_students_list(request)


def _students_bulk_grant(request):
    if not has_permission(request.user, ATTEMPTS_MANAGE):
        return forbidden(request, ATTEMPTS_MANAGE)
    form = BulkGrantForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            grants = attempts_grant_bulk(
                user_ids=data["user_ids"],
                case_study=data["case_study"],
                attempts=data["attempts"],
                reason=data["reason"],
                actor=request.user,
            )
        except AppError as error:
            _apply_service_errors(
                form, _with_student_names(error, data["user_ids"]), {"case_study_id": "case_study", "__all__": "user_ids"}
            )
        else:
            n = data["attempts"]
            count = len(grants)
            messages.success(
                request,
                MSG_BULK_GRANTED.format(
                    n=n, s=_plural(n), title=data["case_study"].title, count=count, cs=_plural(count)
                ),
            )
            return redirect(request.get_full_path())
    messages.error(request, MSG_FIX_ERRORS)
    return _render_students_list(request, bulk_form=form, status=400)


def _with_student_names(error, user_ids):
    """The bulk service names refused students by id ("<id>: reason"); staff know them by name."""
    if not error.errors:
        return error
    names = dict(Student.objects.filter(pk__in=user_ids).values_list("pk", "full_name"))
    for key, msgs in error.errors.items():
        for index, msg in enumerate(msgs):
            user_id, sep, rest = msg.partition(": ")
            if sep and user_id in names:
                msgs[index] = f"{names[user_id]}: {rest}"
    return error


def _render_students_list(request, *, bulk_form=None, status=200):
    """Queries: count, page rows, programmes of the page rows (student_list selector; no rows:
    no programmes query), the programme options, and the case-study options when the user may
    grant."""
    listing = ListRequest.from_query(request.GET, request.tenant.tzinfo)
    rows, total, errors = [], 0, {}
    try:
        queryset = student_list(listing.selector_params)
        total = queryset.count()
        listing.clamp(total)
        if total:
            rows = list(queryset[listing.skip : listing.skip + listing.page_size])
    except AppError as error:
        errors = error.errors or {"__all__": [error.message]}

    can_manage = has_permission(request.user, ATTEMPTS_MANAGE)
    if can_manage and bulk_form is None:
        bulk_form = BulkGrantForm()
    # The options, read once (iterating the form field's choices would count, then fetch).
    case_study_options = []
    if can_manage:
        case_study_options = list(BulkGrantForm.base_fields["case_study"].queryset.values_list("pk", "title"))
    selected = set(bulk_form.data.getlist("user_ids")) if bulk_form is not None and bulk_form.is_bound else set()

    export_query = listing.export_query()
    context = {
        "rows": rows,
        "total": total,
        "errors": errors,
        "filter_errors": {k: v for k, v in errors.items() if k in ListRequest.FILTER_FIELDS},
        "other_errors": [m for k, msgs in errors.items() if k not in ListRequest.FILTER_FIELDS for m in msgs],
        "listing": listing,
        "sort": listing.sort,
        "first_row": listing.skip + 1 if rows else 0,
        "last_row": listing.skip + len(rows),
        "pages": listing.page_links(total),
        "total_pages": max(1, math.ceil(total / listing.page_size)),
        "page_sizes": PAGE_SIZES,
        "programmes": Programme.objects.order_by("code").only("code", "name"),
        "statuses": Student.Status.choices,
        "has_filters": listing.has_filters,
        "can_export": has_permission(request.user, USER_MANAGEMENT_EXPORT),
        "export_csv": f"/v1/console/students/export?format=csv{export_query}",
        "export_xlsx": f"/v1/console/students/export?format=xlsx{export_query}",
        "can_manage": can_manage,
        "bulk_form": bulk_form,
        "case_study_options": case_study_options,
        "reason_max_length": MAX_REASON_LENGTH,
        "selected": selected,
    }
    return render(request, "console/students/list.html", context, status=status)


# Student detail ------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_VIEW)
def student_detail(request, user_id):
    try:
        student = student_get(user_id)
    except AppError:
        return not_found(request, MSG_STUDENT_NOT_FOUND)
    if request.method == "POST":
        return _student_change_attempts(request, student)
    return _render_student_detail(request, student)


def _student_change_attempts(request, student):
    if not has_permission(request.user, ATTEMPTS_MANAGE):
        return forbidden(request, ATTEMPTS_MANAGE)
    form = AttemptChangeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        action = data["action"]
        change = attempts_grant if action == "grant" else attempts_revoke
        try:
            change(
                student=student,
                case_study=data["case_study"],
                attempts=data["attempts"],
                reason=data["reason"],
                actor=request.user,
            )
        except AppError as error:
            _apply_service_errors(form, error, {"case_study_id": "case_study", "__all__": "attempts"})
        else:
            card = student_case_study_card(student_id=student.pk, case_study_id=data["case_study"].pk)
            message = MSG_GRANTED if action == "grant" else MSG_REVOKED
            n = data["attempts"]
            messages.success(
                request,
                message.format(n=n, s=_plural(n), title=card.case_study.title, allowed=card.attempts_allowed),
            )
            url = reverse("console:student", args=[student.pk])
            return redirect(f"{url}#cs-{card.case_study.pk}")
    messages.error(request, MSG_FIX_ERRORS)
    return _render_student_detail(request, student, change_form=form, status=400)


def _render_student_detail(request, student, *, change_form=None, status=200):
    """Queries (after student_get's student + programmes): totals, cards (sessions, case-study
    programmes, grant totals), grant history; three more only when a grant exists on a case
    study the student has not attempted (its card is shown so it can be revoked)."""
    totals = student_attempt_totals(student_id=student.pk)
    cards = student_case_study_cards(student_id=student.pk)
    history = list(
        AttemptGrant.objects.filter(student=student)
        .select_related("actor", "case_study")
        .order_by("-created_at", "-id")[:GRANT_HISTORY_LIMIT]
    )
    attempted = {card.case_study.pk for card in cards}
    granted_only = sorted({g.case_study_id for g in history} - attempted)
    if granted_only:
        cards += student_case_study_cards(student_id=student.pk, case_study_ids=granted_only)

    # The form that failed is shown again, with its errors, on its own card and action.
    failed = None
    if change_form is not None:
        failed = (change_form.data.get("case_study"), change_form.data.get("action"))
    panels = [
        {
            "card": card,
            "grant": change_form if failed == (card.case_study.pk, "grant") else None,
            "revoke": change_form if failed == (card.case_study.pk, "revoke") else None,
        }
        for card in cards
    ]
    shown = {card.case_study.pk for card in cards}
    # A failed form whose case study has no card here (a tampered or stale page): say so on top.
    orphan_form = change_form if change_form is not None and failed[0] not in shown else None
    context = {
        "student": student,
        "programmes": list(student.programmes.all()),
        "totals": totals,
        "panels": panels,
        "history": history,
        "history_limited": len(history) == GRANT_HISTORY_LIMIT,
        "orphan_form": orphan_form,
        "reason_max_length": MAX_REASON_LENGTH,
        "can_manage": has_permission(request.user, ATTEMPTS_MANAGE),
        "can_view_performance": has_permission(request.user, STUDENT_PERFORMANCE_VIEW),
    }
    return render(request, "console/students/detail.html", context, status=status)


# Attempt -------------------------------------------------------------------------------


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
    card = student_case_study_card(student_id=session.student_id, case_study_id=session.case_study_id)
    attempt = next(a for a in card.attempts if a.session.pk == session.pk)
    detail = AttemptDetail(
        session=session, attempt_label=attempt.label, used_for_final_score=attempt.used_for_final_score
    )
    context = {
        "session": session,
        "student": session.student,
        "card": card,
        "attempt": detail,
        "transcript": attempt_transcript(session=session),
        "grade": attempt_grade(session=session),
        "can_view_student": has_permission(request.user, USER_MANAGEMENT_VIEW),
    }
    return render(request, "console/attempts/detail.html", context)


# Dashboard -----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_VIEW)
def dashboard(request):
    data = dashboard_data.dashboard_figures(tzinfo=request.tenant.tzinfo)
    context = {"data": data, "charts": dashboard_data.dashboard_charts(data)}
    return render(request, "console/dashboard/index.html", context)

