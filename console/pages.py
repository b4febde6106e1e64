"""What every page of the HTML console shares: the permission gate, the 403 and 404 pages
(a student's among them), and putting a service's refusal beside the form fields it names,
saying above it that nothing changed.

Every page: anonymous -> redirect to login; signed in without the permission -> 403 page;
times are shown in the tenant's time zone.
"""
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import PERMISSION_WORDS, has_permission, roles_holding

MSG_FIX_ERRORS = "Nothing was changed. Fix the highlighted fields and try again."
MSG_PAGE_STUDENT_NOT_FOUND = "No student with this id exists here."


def plural(n):
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
    context = {"needed": PERMISSION_WORDS[permission], "roles": roles_holding(permission)}
    return render(request, "console/403.html", context, status=403)


def not_found(request, message):
    return render(request, "console/404.html", {"message": message}, status=404)


def student_not_found(request):
    """The 404 page of an address naming no current student (the list's, record and attempt pages)."""
    return not_found(request, MSG_PAGE_STUDENT_NOT_FOUND)


def form_refused(request):
    """Says above the page that a refused form changed nothing; its errors are beside its fields."""
    messages.error(request, MSG_FIX_ERRORS)


def apply_service_errors(form, error, field_map):
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


def confirmation_page(
    request, *, title, question, consequences, action, button, cancel, crumbs=(), fields=(),
    template="console/confirm.html", status=200, **context,
):
    """The step before a destructive action (server-rendered, no script needed): it names what is
    about to change and what follows, and only its form's POST to `action` (with the hidden
    `fields`) does it; Cancel goes back to `cancel`. `crumbs`: (label, url) before the title."""
    confirm = {
        "title": title, "question": question, "consequences": consequences, "action": action,
        "button": button, "cancel": cancel, "crumbs": crumbs, "fields": fields,
    }
    return render(request, template, {"confirm": confirm, **context}, status=status)


def record_action_confirmation(request, *, record_url, record_name, parent, action, **texts):
    """confirmation_page for a form action of a record's own page (field `action`): the step is
    reached from that page and posts back to it; its crumbs are `parent` (label, url), then the
    record. `texts`: title, question, consequences, button."""
    return confirmation_page(
        request, crumbs=(parent, (record_name, record_url)), action=record_url, cancel=record_url,
        fields=(("action", action),), **texts,
    )
