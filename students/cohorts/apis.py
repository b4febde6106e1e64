"""Cohorts: GET/POST /v1/cohorts, GET/PATCH/PUT/DELETE /v1/cohorts/{cohort_id}. Reads need
USER_MANAGEMENT.can_view, writes USER_MANAGEMENT.can_edit (the student records' own rule)."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from accounts.permissions import USER_MANAGEMENT_EDIT, USER_MANAGEMENT_VIEW, ReadWritePermission
from config.api import ok, page_of, paged, validated
from config.ids import check_id
from config.openapi import error_responses
from students.cohorts import selectors, services
from students.cohorts.serializers import (
    CohortEnvelope,
    CohortPageEnvelope,
    CohortSerializer,
    CohortsPageQuery,
    CohortWriteSerializer,
)

TAG = "Cohorts"


def _responses(success, *, not_found=False, conflict=None):
    return {**success, **error_responses(not_found="No such cohort on this tenant." if not_found else None, conflict=conflict)}


def _cohort_id(value):
    return check_id(value, field="cohort_id")


class _CohortsApi(APIView):
    permission_classes = [ReadWritePermission.of(read=USER_MANAGEMENT_VIEW, write=USER_MANAGEMENT_EDIT)]


class CohortListApi(_CohortsApi):
    @extend_schema(tags=[TAG], summary="List cohorts", operation_id="cohorts_list", parameters=[CohortsPageQuery],
                   responses=_responses({200: CohortPageEnvelope}))
    def get(self, request):
        params = validated(CohortsPageQuery, request.query_params)
        rows, paging = page_of(selectors.cohort_list(), page=params["page"], per_page=params["per_page"])
        return paged(CohortSerializer(rows, many=True).data, **paging)

    @extend_schema(tags=[TAG], summary="Create a cohort", request=CohortWriteSerializer,
                   responses=_responses({201: CohortEnvelope}, conflict=services.MSG_COHORT_NAME_TAKEN))
    def post(self, request):
        body = validated(CohortWriteSerializer, request.data)
        cohort = services.cohort_create(name=body["name"])
        return ok(CohortSerializer(selectors.cohort_get(cohort_id=cohort.pk)).data, status=201)


class CohortDetailApi(_CohortsApi):
    @extend_schema(tags=[TAG], summary="Retrieve a cohort", responses=_responses({200: CohortEnvelope}, not_found=True))
    def get(self, request, cohort_id):
        return ok(CohortSerializer(selectors.cohort_get(cohort_id=_cohort_id(cohort_id))).data)

    @extend_schema(tags=[TAG], summary="Rename a cohort", request=CohortWriteSerializer,
                   responses=_responses({200: CohortEnvelope}, not_found=True, conflict=services.MSG_COHORT_NAME_TAKEN))
    def patch(self, request, cohort_id):
        return self._update(request, cohort_id, partial=True)

    @extend_schema(tags=[TAG], summary="Rename a cohort", description="The whole record: its name is required.",
                   request=CohortWriteSerializer,
                   responses=_responses({200: CohortEnvelope}, not_found=True, conflict=services.MSG_COHORT_NAME_TAKEN))
    def put(self, request, cohort_id):
        return self._update(request, cohort_id, partial=False)

    def _update(self, request, cohort_id, *, partial):
        cohort_id = _cohort_id(cohort_id)
        body = validated(CohortWriteSerializer, request.data, partial=partial)
        services.cohort_update(cohort_id=cohort_id, name=body.get("name"))
        return ok(CohortSerializer(selectors.cohort_get(cohort_id=cohort_id)).data)

    @extend_schema(tags=[TAG], summary="Delete a cohort without students",
                   description="A cohort that still has students (archived and deleted ones too) is not deleted (409).",
                   responses=_responses({200: OpenApiResponse(description="Deleted; data is null.")}, not_found=True,
                                        conflict=services.MSG_COHORT_HAS_STUDENTS))
    def delete(self, request, cohort_id):
        services.cohort_delete(cohort_id=_cohort_id(cohort_id))
        return ok(None, message="Deleted.")
