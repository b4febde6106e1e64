"""A file of the list downloaded at once (the export, the gradebook): the cap of
EXPORT_MAX_ROWS rows, the streaming response and its audit event. Beyond the cap the same
file is made by a background export (console.exports), which has none."""
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.http import StreamingHttpResponse
from django_tenants.utils import tenant_context

from accounts.audit.services import audit_record
from config.errors import EXPORT_LIMIT_EXCEEDED, AppError
from config.replicas import follow_tenant, read_alias
from config.spreadsheets import content_type
from console.list_files.writers import file_blocks

MSG_EXPORT_LIMIT = (
    "Exports are capped at {limit:,} rows and more students match; narrow your filters, "
    "or run it as a background export (POST /v1/console/exports), which has no cap."
)


def over_cap(queryset):
    """Whether more rows match than EXPORT_MAX_ROWS. One bounded count: at most cap + 1 rows,
    enough to know, cheap on a large tenant."""
    cap = settings.EXPORT_MAX_ROWS
    return queryset.order_by().values("pk")[: cap + 1].count() > cap


def check_within_cap(queryset):
    """EXPORT_MAX_ROWS, or 400 EXPORT_LIMIT_EXCEEDED when more rows match."""
    if over_cap(queryset):
        raise AppError(
            MSG_EXPORT_LIMIT.format(limit=settings.EXPORT_MAX_ROWS), code=EXPORT_LIMIT_EXCEEDED, status_code=400
        )
    return settings.EXPORT_MAX_ROWS


def _in_tenant(tenant, alias, file_request, limit):
    """Stream in the request's tenant schema, from the database the view chose (a replica for
    lag-tolerant reads): the body is produced after the view returns."""
    with tenant_context(tenant):
        follow_tenant(alias)
        with transaction.atomic(using=alias):
            rows = file_request.kind.rows(file_request, limit=limit, using=alias)
            try:
                yield from file_blocks(file_request, rows, file_request.file_format)
            finally:
                # A client gone mid-file: end the rows' COPY (cancelled, its rest drained) before
                # the rollback, which would otherwise wait for the connection COPY holds.
                if hasattr(rows, "close"):
                    rows.close()


def list_file_response(file_request, *, tenant=None):
    """A StreamingHttpResponse with the file of `file_request` (a FileRequest). Raises 400
    EXPORT_LIMIT_EXCEEDED (no file) when more rows match than the cap. Queries: the bounded
    count here, then the kind's rows (one server-side cursor) as the body is read."""
    tenant = tenant or connection.tenant
    limit = check_within_cap(file_request.filterset.qs)
    file_format = file_request.file_format
    alias = read_alias() or DEFAULT_DB_ALIAS
    response = StreamingHttpResponse(_in_tenant(tenant, alias, file_request, limit), content_type=content_type(file_format))
    response["Content-Disposition"] = f'attachment; filename="{file_request.kind.file_name(tenant, file_format)}"'
    response["Cache-Control"] = "no-store"  # personal data
    response["X-Content-Type-Options"] = "nosniff"
    return response


def list_file_download(kind, params, *, tenant):
    """The download of a file of `kind` for the query string `params`, audited. Raises
    AppError (400) for bad parameters or too many rows."""
    file_request = kind.read(params)
    response = list_file_response(file_request, tenant=tenant)
    audit_record(
        action=kind.audit_action,
        target_type="student_list",
        target_id=kind.audit_target,
        detail=kind.audit_detail(file_request, params),
    )
    return response
