"""GET /v1/staff: the staff users a student's advisor is chosen from. Read-only, minimal fields,
for those who may edit student records (USER_MANAGEMENT.can_edit: admins)."""
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from accounts.permissions import USER_MANAGEMENT_EDIT, HasPermission
from accounts.staff.selectors import staff_list
from accounts.staff.serializers import StaffPageEnvelope, StaffPageQuery, StaffSerializer
from config.api import page_of, paged, validated
from config.openapi import error_responses


class StaffListApi(APIView):
    permission_classes = [HasPermission.of(USER_MANAGEMENT_EDIT)]

    @extend_schema(
        tags=["Staff"],
        summary="List staff users (to choose an advisor)",
        operation_id="staff_list",
        description="Active staff users by name: id, name, email, roles. Requires USER_MANAGEMENT.can_edit.",
        parameters=[StaffPageQuery],
        responses={200: StaffPageEnvelope, **error_responses()},
    )
    def get(self, request):
        params = validated(StaffPageQuery, request.query_params)
        # Queries: the count, the page, the page's roles.
        rows, paging = page_of(staff_list(), page=params["page"], per_page=params["per_page"])
        return paged(StaffSerializer(rows, many=True).data, **paging)
