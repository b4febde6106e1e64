"""The student import page: upload a file, read the dry run's report, then apply the same file.

The uploaded file is kept in the file storage (where avatars go, shared by every app server)
under the tenant's schema, the staff member's id and a random token, and the Apply button
sends only the token: the browser never holds the parsed rows, and another staff member's
token names no file. Applying runs the whole check again inside the transaction that writes,
so what changed in between is seen. A kept file is deleted once applied, a staff member's
older kept files when they upload another, and anyone's older than a day (no longer applied)
at the next upload on the tenant.
"""
import datetime as dt
import secrets

from django.contrib import messages
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import USER_MANAGEMENT_EDIT
from config.errors import AppError
from console.imports.forms import TOKEN_RE, ImportApplyForm, ImportUploadForm
from console.pages import console_page, plural
from students.imports import parsing
from students.imports.selectors import student_import_get
from students.imports.services import REJECTED, ImportRefused, import_row_student, students_import

SHOWN_ROWS = 200  # rows listed on the page; the counts cover every row
MSG_IMPORTED = "Imported {rows:,} row{s}: {created:,} created, {updated:,} updated, {unchanged:,} unchanged."
MSG_REFUSED = "Nothing was imported: {count:,} row{s} cannot be, now. Fix them in the file and check it again."
MSG_APPLY_FAILED = "Nothing was imported: {message} Check the file again."
MSG_BAD_TOKEN = "The checked file is not known here; upload it again."
MSG_CHECKED_CLEAN = "The file is fine: apply it to make these changes."
MSG_CHECKED_REJECTED = "Fix the rejected rows in the file and check it again: nothing is imported while any row is rejected."
COLUMN_LABELS = {
    "row": "Row",
    "user_id": "user_id",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "status": "Status",
    "programme_codes": "Programmes",
    "student_number": "Student number",
    "cohort_id": "Cohort",
    "advisor_id": "Advisor",
}


PROGRESS_SECONDS = 600
KEEP_SECONDS = 24 * 3600  # a checked file not applied within a day is checked again


def _new_token():
    return secrets.token_urlsafe(24)


def _progress_key(user, token):
    return f"import-progress:{connection.schema_name}:{user.pk}:{token}"


def _progress_to_cache(user, token):
    """A progress callback for students_import that leaves the latest figure in the shared
    cache, where the page's script polls it (import_progress). Written only when the whole
    percentage changes."""
    key = _progress_key(user, token)
    last = {}

    def report(fraction, step):
        percent = max(0, min(100, int(fraction * 100)))
        if last.get("figure") != (percent, step):
            last["figure"] = (percent, step)
            cache.set(key, {"percent": percent, "step": step}, PROGRESS_SECONDS)

    return report


def _kept_dir(user):
    return f"imports/{connection.schema_name}/{user.pk}"


def _kept_name(user, token):
    return f"{_kept_dir(user)}/{token}.upload"


def _listdir(path):
    try:
        return default_storage.listdir(path)
    except (FileNotFoundError, NotImplementedError):
        return [], []


def _stale(name):
    try:
        return timezone.now() - default_storage.get_modified_time(name) > dt.timedelta(seconds=KEEP_SECONDS)
    except (FileNotFoundError, NotImplementedError, OSError):
        return False


def _keep(user, data):
    """Store the checked file for this user; returns its token. This user's older kept files
    go, and anyone's on this tenant kept for longer than KEEP_SECONDS."""
    for name in _listdir(_kept_dir(user))[1]:
        default_storage.delete(f"{_kept_dir(user)}/{name}")
    tenant_dir = f"imports/{connection.schema_name}"
    for user_dir in _listdir(tenant_dir)[0]:
        for name in _listdir(f"{tenant_dir}/{user_dir}")[1]:
            if _stale(f"{tenant_dir}/{user_dir}/{name}"):
                default_storage.delete(f"{tenant_dir}/{user_dir}/{name}")
    token = _new_token()
    default_storage.save(_kept_name(user, token), ContentFile(data))
    return token


def _kept(user, token):
    name = _kept_name(user, token)
    if not default_storage.exists(name) or _stale(name):
        return None
    with default_storage.open(name, "rb") as stored:
        return stored.read(parsing.MAX_BYTES + 1)


def _explained(errors):
    """A row's errors as sentences for staff: 'Email: Enter a valid email address.'"""
    lines = []
    for name, msgs in (errors or {}).items():
        column = name.split(".", 1)[0]
        label = COLUMN_LABELS.get(column, column)
        lines.extend(msg if column == "row" else f"{label}: {msg}" for msg in msgs)
    return lines


def _report_context(report):
    data = report.as_data()
    rows = sorted(data["rows"], key=lambda r: (r["action"] != REJECTED, r["row"]))
    planned = {row.number: row for row in report.rows}
    shown = [
        {**row, "reasons": _explained(row["errors"]), "student": import_row_student(report, planned[row["row"]])}
        for row in rows[:SHOWN_ROWS]
    ]
    counts = data["counts"]
    return {
        "report": data,
        "counts": counts,
        "total_rows": len(rows),
        "shown_rows": shown,
        "more_rows": max(0, len(rows) - SHOWN_ROWS),
    }


def _page(request, *, upload_form=None, report=None, token=None, status=200, applied_refused=False, applied=None):
    context = {
        "applied": applied,
        "progress_id": _new_token(),  # names the check's progress for the page's script
        "upload_form": upload_form or ImportUploadForm(),
        "token": token,
        "applied_refused": applied_refused,
        "max_mb": parsing.MAX_BYTES // (1024 * 1024),
        "max_rows": parsing.MAX_ROWS,
        "columns": [(name, parsing.TEMPLATE_NOTES[name]) for name in parsing.COLUMNS],
        "template_csv": f"{reverse('students-import-template')}?format=csv",
        "template_xlsx": f"{reverse('students-import-template')}?format=xlsx",
        "shown_limit": SHOWN_ROWS,
    }
    if report is not None:
        context.update(_report_context(report))
    return render(request, "console/imports/students.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_EDIT)
def import_students(request):
    if request.method != "POST":
        # After an apply: the import just made, with the link to its students.
        return _page(request, applied=student_import_get(import_id=request.GET.get("applied", "").strip()[:64]))
    if "token" in request.POST:
        return _apply(request)
    return _check(request)


def _check(request):
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, upload_form=form, status=400)
    # At most one byte past the limit is read: the import refuses a larger file naming `file`.
    data = form.cleaned_data["file"].read(parsing.MAX_BYTES + 1)
    progress_id = request.POST.get("progress_id", "")
    progress = _progress_to_cache(request.user, progress_id) if TOKEN_RE.match(progress_id) else None
    try:
        report = students_import(data=data, dry_run=True, progress=progress)
    except AppError as error:
        for msg in (error.errors or {}).get("file", [error.message]):
            form.add_error("file", msg)
        return _page(request, upload_form=form, status=400)
    token = None
    if report.counts[REJECTED]:
        messages.warning(request, MSG_CHECKED_REJECTED)
    else:
        token = _keep(request.user, data)
        messages.info(request, MSG_CHECKED_CLEAN)
    return _page(request, report=report, token=token)


def _apply(request):
    form = ImportApplyForm(request.POST)
    data = _kept(request.user, form.cleaned_data["token"]) if form.is_valid() else None
    if data is None:
        messages.error(request, MSG_BAD_TOKEN)
        return _page(request, status=400)
    token = form.cleaned_data["token"]
    try:
        report = students_import(data=data, dry_run=False, progress=_progress_to_cache(request.user, token))
    except ImportRefused as refused:
        count = refused.report.counts[REJECTED]
        messages.error(request, MSG_REFUSED.format(count=count, s=plural(count)))
        return _page(request, report=refused.report, status=400, applied_refused=True)
    except AppError as error:
        messages.error(request, MSG_APPLY_FAILED.format(message=error.message))
        return _page(request, status=400 if error.status_code < 500 else error.status_code)
    default_storage.delete(_kept_name(request.user, token))
    counts = report.counts
    rows = len(report.rows)
    messages.success(request, MSG_IMPORTED.format(rows=rows, s=plural(rows), **{k: counts[k] for k in ("created", "updated", "unchanged")}))
    return redirect(f"{reverse('console:students_import')}?applied={report.run.pk}")


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_EDIT)
def import_progress(request):
    """How far this staff member's check or apply named `id` is: {"percent", "step"}, both null
    until it starts (or when it ran in a process that shares no cache with this one)."""
    token = request.GET.get("id", "")
    figure = cache.get(_progress_key(request.user, token)) if TOKEN_RE.match(token) else None
    return JsonResponse(figure or {"percent": None, "step": None})

