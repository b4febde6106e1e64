"""Signing in and out of the HTML console."""
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect

from console.auth.forms import LoginForm

MSG_SIGNED_IN = "Signed in as {name}."
MSG_SIGNED_OUT = "You have been signed out."


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.rate_limited:
            response.status_code = 429
            response["Retry-After"] = str(form.refused.retry_after)
        return response

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
