"""Serving uploaded files (avatars) on a tenant's host.

Uploads are stored under `avatars/<schema>/…`; a tenant's host serves only its own schema's
files, so an avatar URL from one university does not work on another's host."""
from django.conf import settings
from django.db import connection
from django.http import Http404
from django.views.static import serve


def tenant_media(request, path):
    schema = getattr(connection, "schema_name", None)
    if not schema or ".." in path.split("/") or not path.startswith(f"avatars/{schema}/"):
        raise Http404("No such file.")
    return serve(request, path, document_root=settings.MEDIA_ROOT)
