"""The base of the endpoints that download a file of the list (the export, the gradebook) and
the OpenAPI answers they share. Each endpoint names its kind and documents itself."""
from types import SimpleNamespace

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation

from accounts.permissions import HasPermission
from config.openapi import error_response, error_responses
from config.replicas import LagTolerantReadsMixin
from config.spreadsheets import CSV, MEDIA_TYPES, XLSX
from console.list_files.downloads import MSG_EXPORT_LIMIT, list_file_download
from students.listing.filters import StudentFileFilter


class _FileFormatNegotiation(DefaultContentNegotiation):
    """Here `format` is the file's format, not DRF's renderer override."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class FileOfTheListApi(LagTolerantReadsMixin, GenericAPIView):
    """A file of the console list: `kind` (an entry of console.list_files.kinds) says its
    permission, parameters, rows, writers and audit event; `format` names the file's format."""

    kind = None
    content_negotiation_class = _FileFormatNegotiation
    filterset_class = StudentFileFilter  # the list's filters: validates and documents them

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.permission_classes = [HasPermission.of(cls.kind.permission)]

    def perform_content_negotiation(self, request, force=False):
        # A client may well send `Accept: text/csv`; the file ignores Accept, and errors
        # fall back to JSON instead of a 406.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request):
        return list_file_download(self.kind, request.query_params, tenant=request.tenant)


def file_responses(kind):
    """The OpenAPI answers of a download of `kind`: the file in either format, 400 for a bad
    parameter or too many rows, and the usual errors."""
    file = OpenApiResponse(
        OpenApiTypes.BINARY,
        description=f"A file download (attachment): {kind.file_prefix}_{{tenant_slug}}_{{YYYY-MM-DD}}.csv or .xlsx.",
    )
    return {
        (200, MEDIA_TYPES[CSV]): file,
        (200, MEDIA_TYPES[XLSX]): file,
        (400, "application/json"): error_response(
            "A bad parameter (VALIDATION_ERROR) or more rows than the cap (EXPORT_LIMIT_EXCEEDED).",
            code="EXPORT_LIMIT_EXCEEDED",
            message=MSG_EXPORT_LIMIT.format(limit=50_000),
        ),
        **{(status, "application/json"): response for status, response in error_responses().items() if status != 400},
    }
