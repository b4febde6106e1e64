from django.urls import path

from console.auth import oidc, saml, sso, views

pages = [
    path("", views.home, name="home"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    # Identity providers: each provider's addresses carry its slug, under the tenant's host.
    path("sso/<id:slug>/start/", sso.sso_start, name="sso_start"),
    path("sso/<id:slug>/oidc/callback/", oidc.callback, name="oidc_callback"),
    path("sso/<id:slug>/saml/acs/", saml.acs, name="saml_acs"),
    path("sso/<id:slug>/saml/metadata/", saml.metadata, name="saml_metadata"),
    # The second factor of password sign-ins: the second step, and a user's own page.
    path("login/two-factor/", views.two_factor_sign_in, name="two_factor_sign_in"),
    path("login/two-factor/setup/", views.two_factor_sign_in_setup, name="two_factor_sign_in_setup"),
    path("account/two-factor/", views.two_factor_page, name="two_factor"),
    path("account/two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
]
