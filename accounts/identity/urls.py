from django.urls import re_path

from accounts.identity import apis
from config.ids import id_in_path

urlpatterns = [
    re_path(r"^identity-providers/?$", apis.IdentityProviderListApi.as_view(), name="identity-providers"),
    re_path(rf"^identity-providers/{id_in_path('provider_id')}/?$", apis.IdentityProviderDetailApi.as_view(),
            name="identity-provider"),
    re_path(r"^sign-in-policy/?$", apis.SignInPolicyApi.as_view(), name="sign-in-policy"),
]
