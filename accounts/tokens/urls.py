from django.urls import re_path

from accounts.tokens import apis

urlpatterns = [
    re_path(r"^token/?$", apis.TokenApi.as_view(), name="auth-token"),
    re_path(r"^logout/?$", apis.LogoutApi.as_view(), name="auth-logout"),
]
