"""GET /v1/case-studies/{case_study_id}/users/ — the case study's participants (SPEC §7.7)."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts.permissions import STUDENT_PERFORMANCE_VIEW, HasPermission
from attempts.participants import selectors as participants
from attempts.participants.serializers import (
    ParticipantPageEnvelope,
    ParticipantQuerySerializer,
    ParticipantSerializer,
)
from catalogue.case_studies.selectors import case_study_get
from config.api import ok, validated
from config.errors import AppError
from config.ids import is_valid_opaque_id
from config.openapi import error_responses
from config.replicas import LagTolerantReadsMixin

MSG_BAD_CASE_STUDY_ID = "Not a valid id."


def page_links(request, *, count, limit, offset):
    """Absolute next/previous URLs keeping every other query parameter (null at the ends)."""
    url = request.build_absolute_uri()
    following = None
    if offset + limit < count:
        following = replace_query_param(url, "offset", offset + limit)
    previous = None
    if offset > 0:
        previous = remove_query_param(url, "offset") if offset - limit <= 0 else replace_query_param(
            url, "offset", offset - limit
        )
    return following, previous


class CaseStudyParticipantsApi(LagTolerantReadsMixin, APIView):
    permission_classes = [HasPermission.of(STUDENT_PERFORMANCE_VIEW)]

    @extend_schema(
        tags=["Case-study participants"],
        summary="Participants of a case study",
        description=participants.__doc__,
        operation_id="case_study_participants_list",
        parameters=[
            ParticipantQuerySerializer,
            OpenApiParameter(
                "statuses",
                {"type": "array", "items": {"type": "string", "enum": list(participants.STATUSES)}},
                OpenApiParameter.QUERY,
                explode=True,
                description="Filter by join_status: repeat the parameter (?statuses=joined&statuses=invited) or "
                "give a comma string (?statuses=joined,invited). Default: joined,completed.",
            ),
            OpenApiParameter(
                "ordering",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=list(participants.ORDERINGS),
                default=participants.DEFAULT_ORDERING,
                description="Sort key, `-` for descending. Rows without a value sort last either way; "
                "ties break on user_id.",
            ),
        ],
        responses={200: ParticipantPageEnvelope, **error_responses(not_found="No such case study on this tenant.")},
    )
    def get(self, request, case_study_id):
        if not is_valid_opaque_id(case_study_id):
            raise AppError.validation({"case_study_id": MSG_BAD_CASE_STUDY_ID})
        params = validated(ParticipantQuerySerializer, request.query_params)
        query = participants.ParticipantQuery(
            statuses=participants.parse_statuses(request.query_params.getlist("statuses")),
            search=params.get("search", "").strip(),
            ordering=participants.parse_ordering(request.query_params.get("ordering")),
        )
        case_study = case_study_get(case_study_id=case_study_id, with_programmes=False)
        limit, offset = params["limit"], params["offset"]
        count, rows = participants.participants_page(case_study=case_study, query=query, limit=limit, offset=offset)
        following, previous = page_links(request, count=count, limit=limit, offset=offset)
        return ok(
            {
                "count": count,
                "next": following,
                "previous": previous,
                "results": ParticipantSerializer(rows, many=True).data,
            }
        )
