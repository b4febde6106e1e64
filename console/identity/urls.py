from django.urls import path

from console.identity import views

pages = [
    # GET: providers, policy, SCIM tokens; POST changes the policy or the tokens (field `action`).
    path("sign-in/", views.identity_page, name="identity"),
    # ?kind=oidc|saml: the new provider's form.
    path("sign-in/providers/new/", views.provider_new_page, name="identity_provider_new"),
    # GET: the provider's addresses and settings; POST changes it (field `action`).
    path("sign-in/providers/<id:provider_id>/", views.provider_page, name="identity_provider"),
]
