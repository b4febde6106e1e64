"""Serving student avatars on a tenant's host, to signed-in staff only.

An avatar is a student's photo: personal data, so it is served like the records it belongs
to (a console session or a Bearer token with user_management:view), never publicly, with
`Cache-Control: private, no-store`. Uploads are stored under `avatars/<schema>/…`; a tenant's
host serves only its own schema's files, so an avatar URL from one university does not work
on another's host."""
from django.conf import settings
from django.db import connection
from django.http import Http404
from django.views.static import serve
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.permissions import USER_MANAGEMENT_VIEW, HasPermission


class AvatarFileApi(APIView):
    permission_classes = [IsAuthenticated, HasPermission.of(USER_MANAGEMENT_VIEW)]

    @extend_schema(exclude=True)
    def get(self, request, path):
        schema = getattr(connection, "schema_name", None)
        if not schema or ".." in path.split("/") or not path.startswith(f"avatars/{schema}/"):
            raise Http404("No such file.")
        return serve(request._request, path, document_root=settings.MEDIA_ROOT)
