"""Signing in and out of the HTML console, and the second factor of password sign-ins.

A right password signs in at once unless the account needs a second factor
(accounts.twofactor.selectors.second_factor_step): then the session only remembers who is
half signed in, for PENDING_SECONDS, and the browser goes to the second step: a code
(/login/two-factor/), or, when the tenant requires a second factor the account has not set
up, its set-up (/login/two-factor/setup/), whose recovery codes are shown once as the sign-in
completes. Wrong codes count against the sign-in limits (429 with Retry-After, as the login).
Sign-ins through an identity provider (console.auth.sso) never come here.

/account/two-factor/ is a signed-in user's own second factor: its state, set-up
(/account/two-factor/setup/), new recovery codes and turning it off (each after a code).
"""
import time

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_http_methods

from accounts.identity.provisioning import audit_sign_in
from accounts.models import StaffUser
from accounts.signin.services import SignInRefused
from accounts.twofactor import services as two_factor
from accounts.twofactor.selectors import ENROL, VERIFY, second_factor_step, two_factor_status
from accounts.twofactor.services import SecondFactorRefused
from config.errors import AppError
from console.auth.forms import LoginForm, SecondFactorForm
from console.auth.sso import login_options

MSG_SIGNED_IN = "Signed in as {name}."
MSG_SIGNED_OUT = "You have been signed out."
MSG_SECOND_STEP_EXPIRED = "The sign-in was not finished within 5 minutes. Enter your email and password again."
MSG_RECOVERY_CODE_USED = (
    "You signed in with a recovery code, which cannot be used again: {left} left. "
    "Make new ones on your two-factor page before they run out."
)
MSG_TWO_FACTOR_ON = "Two-factor sign-in is on. Save your recovery codes now: they are not shown again."
MSG_TWO_FACTOR_OFF = "Two-factor sign-in is off: your password alone signs you in now."
MSG_RECOVERY_CODES_NEW = "New recovery codes are below, and the old ones no longer work. Save them now: they are not shown again."

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60
ACCOUNT_ACTIONS = ("recovery_codes", "disable")


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(login_options(self.request))
        return context

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.rate_limited:
            response.status_code = 429
            response["Retry-After"] = str(form.refused.retry_after)
        return response

    def form_valid(self, form):
        user = form.get_user()
        step = second_factor_step(user, channel="console")
        if step is None:
            response = super().form_valid(form)
            _signed_in(self.request, user)
            return response
        _pending_begin(self.request, user, next_url=self.get_success_url())
        return redirect("console:two_factor_sign_in" if step == VERIFY else "console:two_factor_sign_in_setup")


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


def _signed_in(request, user):
    """A password sign-in (with its second factor, if any) is complete: audit it and say so."""
    audit_sign_in(user, method="password")
    messages.success(request, MSG_SIGNED_IN.format(name=user.full_name or user.email))


# The second step of a password sign-in ---------------------------------------------------


def _pending_begin(request, user, *, next_url):
    """Remember, in a new session key, who has given the right password and where they go."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user_id": user.pk,
        "started_at": time.time(),
        "next": next_url,
        # A password changed meanwhile (or the account signed out everywhere) voids the step.
        "auth_hash": user.get_session_auth_hash(),
        "backend": user.backend,
    }


class _NotPending(Exception):
    """No sign-in waits for a second factor here; `expired`: one did, and is void now."""

    def __init__(self, *, expired):
        super().__init__("expired" if expired else "none")
        self.expired = expired


def _pending(request):
    """(user, pending) of the sign-in waiting for its second factor, else _NotPending: none,
    or one older than PENDING_SECONDS or of an account changed meanwhile (then forgotten)."""
    pending = request.session.get(PENDING_KEY)
    if not pending:
        raise _NotPending(expired=False)
    age = time.time() - pending["started_at"]
    user = None
    if 0 <= age <= PENDING_SECONDS:
        user = StaffUser.objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None or not constant_time_compare(user.get_session_auth_hash(), pending["auth_hash"]):
        request.session.pop(PENDING_KEY, None)
        raise _NotPending(expired=True)
    return user, pending


def _back_to_sign_in(request, *, expired):
    request.session.pop(PENDING_KEY, None)
    if expired:
        messages.error(request, MSG_SECOND_STEP_EXPIRED)
    return redirect("console:login")


def _complete(request, user, pending):
    """Log the user in (a new session key) and audit the sign-in."""
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=pending["backend"])
    _signed_in(request, user)


def _refused(request, template, context, error, *, status):
    """The page again with the refusal beside the code; 429 with Retry-After when limited."""
    context["form"].add_error("code", error.message)
    if error.status_code == 429:
        status = 429
    response = render(request, template, context, status=status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_sign_in(request):
    """The second step: a code of the account's authenticator app, or a recovery code."""
    try:
        user, pending = _pending(request)
    except _NotPending as none:
        return _back_to_sign_in(request, expired=none.expired)
    step = second_factor_step(user, channel="console")
    if step == ENROL:
        return redirect("console:two_factor_sign_in_setup")
    if step is None:  # reset by an administrator meanwhile: start again
        return _back_to_sign_in(request, expired=True)
    template = "console/auth/two_factor_verify.html"
    if request.method != "POST":
        return render(request, template, {"form": SecondFactorForm()})
    form = SecondFactorForm(request.POST)
    if not form.is_valid():
        return render(request, template, {"form": form})
    try:
        kind = two_factor.two_factor_verify(request=request, user=user, code=form.cleaned_data["code"])
    except AppError as error:  # wrong (200, as a wrong password), or limited (429)
        return _refused(request, template, {"form": form}, error, status=200)
    _complete(request, user, pending)
    if kind == two_factor.RECOVERY_CODE:
        messages.warning(request, MSG_RECOVERY_CODE_USED.format(left=two_factor_status(user).recovery_codes_left))
    return redirect(pending["next"])


@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_sign_in_setup(request):
    """The second step when the tenant requires a second factor the account has not set up:
    set it up now; the sign-in completes with its recovery codes on the screen."""
    try:
        user, pending = _pending(request)
    except _NotPending as none:
        return _back_to_sign_in(request, expired=none.expired)
    step = second_factor_step(user, channel="console")
    if step == VERIFY:
        return redirect("console:two_factor_sign_in")
    if step is None:  # the requirement was lifted meanwhile: start again
        return _back_to_sign_in(request, expired=True)

    def confirmed(codes):
        _complete(request, user, pending)
        return _codes_page(request, codes, continue_url=pending["next"], message=MSG_TWO_FACTOR_ON)

    return _setup(request, user, "console/auth/two_factor_sign_in_setup.html", confirmed, refused_status=200)


def _setup(request, user, template, confirmed, *, refused_status):
    """The set-up page (QR code, key, the first code), and its confirmation."""
    form = SecondFactorForm(request.POST if request.method == "POST" else None)
    try:
        enrolment = two_factor.two_factor_enrol(user=user)
    except AppError as error:  # no password here, or already set up
        messages.error(request, error.message)
        return redirect("console:two_factor")
    context = {"form": form, "enrolment": enrolment}
    if request.method != "POST":
        return render(request, template, context)
    if not form.is_valid():
        return render(request, template, context, status=refused_status)
    try:
        codes = two_factor.two_factor_confirm(user=user, code=form.cleaned_data["code"])
    except AppError as error:
        return _refused(request, template, context, error, status=refused_status)
    return confirmed(codes)


def _codes_page(request, codes, *, continue_url, message):
    messages.success(request, message)
    return render(request, "console/auth/two_factor_codes.html", {"codes": codes, "continue_url": continue_url})


# A signed-in user's own second factor -----------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def two_factor_page(request):
    """State, and (POST `action` with a `<action>-code`) new recovery codes or turning it off."""
    forms = {action: SecondFactorForm(prefix=action) for action in ACCOUNT_ACTIONS}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ACCOUNT_ACTIONS:
            return _account_page(request, forms, status=400)
        form = forms[action] = SecondFactorForm(request.POST, prefix=action)
        if not form.is_valid():
            return _account_page(request, forms, status=400)
        code = form.cleaned_data["code"]
        try:
            if action == "disable":
                two_factor.two_factor_disable(request=request, user=request.user, code=code)
                messages.success(request, MSG_TWO_FACTOR_OFF)
                return redirect("console:two_factor")
            codes = two_factor.two_factor_recovery_codes_regenerate(request=request, user=request.user, code=code)
        except AppError as error:
            if isinstance(error, (SecondFactorRefused, SignInRefused)):
                form.add_error("code", error.message)
            else:  # not about the code (turning off refused, nothing set up): above the page
                messages.error(request, error.message)
            status = error.status_code if error.status_code in (403, 409, 429) else 400
            response = _account_page(request, forms, status=status)
            if error.retry_after:
                response["Retry-After"] = str(error.retry_after)
            return response
        return _codes_page(request, codes, continue_url=reverse("console:two_factor"), message=MSG_RECOVERY_CODES_NEW)
    return _account_page(request, forms, status=status)


def _account_page(request, forms, *, status):
    context = {"status": two_factor_status(request.user), "forms": forms, "recovery_codes": two_factor.RECOVERY_CODES}
    with timezone.override(request.tenant.tzinfo):
        return render(request, "console/auth/two_factor.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def two_factor_setup(request):
    """Set up an authenticator app for the signed-in account."""

    def confirmed(codes):
        return _codes_page(request, codes, continue_url=reverse("console:two_factor"), message=MSG_TWO_FACTOR_ON)

    return _setup(request, request.user, "console/auth/two_factor_setup.html", confirmed, refused_status=400)
