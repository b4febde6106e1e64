from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from accounts.audit.selectors import audit_event_list
from accounts.audit.serializers import AuditEventPageEnvelope, AuditEventQuerySerializer, AuditEventSerializer
from accounts.permissions import AUDIT_VIEW, HasPermission
from config.api import paged, skip_limit_page, validated
from config.openapi import error_responses


class AuditEventListApi(APIView):
    permission_classes = [HasPermission.of(AUDIT_VIEW)]

    @extend_schema(
        tags=["Audit"],
        summary="The audit trail",
        description=(
            "Requires AUDIT.can_view (the admin role). Every staff write (students, avatars, "
            "programmes, case studies, groups and members, grants and revokes, staff users), every "
            "export and every transcript read, newest first: who (user id and email, signed in by "
            "session or token, or a management command), from which address and request, what, "
            "on which record, and the fields it changed (before and after; never a password or "
            "token). Events are never changed; they are deleted only past AUDIT_RETENTION_DAYS."
        ),
        parameters=[AuditEventQuerySerializer],
        responses={200: AuditEventPageEnvelope, **error_responses()},
    )
    def get(self, request):
        params = validated(AuditEventQuerySerializer, request.query_params)
        events = audit_event_list(**{k: params.get(k) for k in ("actor", "action", "target_type", "target_id", "since", "until")})
        rows, paging = skip_limit_page(events, skip=params["skip"], limit=params["limit"])
        return paged(AuditEventSerializer(rows, many=True).data, **paging)
