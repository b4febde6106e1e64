"""/v1/case-studies (SPEC §7.6). Reads need USER_MANAGEMENT.can_view; writes need
CATALOG.can_edit. DELETE deactivates."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from catalogue.case_studies import selectors, services
from catalogue.case_studies.serializers import (
    CaseStudyListQuerySerializer,
    CaseStudySerializer,
    CaseStudyUpdateSerializer,
    CaseStudyWriteSerializer,
)
from catalogue.programmes.apis import CatalogueApi
from config.api import ok, page_of, paged, validated
from config.openapi import error_response
from config.serializers import enveloped

CASE_STUDY_RESPONSE = enveloped("CaseStudyResponse", CaseStudySerializer())
ID_TAKEN = error_response("Another case study has this case_study_id (CONFLICT).")
CASE_STUDY_LIST_RESPONSE = enveloped(
    "CaseStudyListResponse", serializers.ListField(child=CaseStudySerializer()), paged=True
)


class CaseStudyListApi(CatalogueApi):
    @extend_schema(
        operation_id="case_studies_list", parameters=[CaseStudyListQuerySerializer], responses={200: CASE_STUDY_LIST_RESPONSE}
    )
    def get(self, request):
        query = validated(CaseStudyListQuerySerializer, request.query_params)
        qs = selectors.case_studies_list(is_active=query.get("is_active"), programme=query.get("programme"))
        # Queries: count, page, programmes of the page.
        rows, paging = page_of(qs, page=query["page"], per_page=query["per_page"])
        return paged(CaseStudySerializer(rows, many=True).data, **paging)

    @extend_schema(
        operation_id="case_studies_create", request=CaseStudyWriteSerializer, responses={201: CASE_STUDY_RESPONSE, 409: ID_TAKEN}
    )
    def post(self, request):
        body = validated(CaseStudyWriteSerializer, request.data)
        return ok(CaseStudySerializer(services.case_study_create(**body)).data, status=201)


class CaseStudyDetailApi(CatalogueApi):
    @extend_schema(operation_id="case_studies_retrieve", responses={200: CASE_STUDY_RESPONSE})
    def get(self, request, case_study_id):
        return ok(CaseStudySerializer(selectors.case_study_get(case_study_id=case_study_id)).data)

    @extend_schema(operation_id="case_studies_update", request=CaseStudyUpdateSerializer, responses={200: CASE_STUDY_RESPONSE})
    def put(self, request, case_study_id):
        return self._update(request, case_study_id, partial=False)

    @extend_schema(
        operation_id="case_studies_partial_update", request=CaseStudyUpdateSerializer, responses={200: CASE_STUDY_RESPONSE}
    )
    def patch(self, request, case_study_id):
        return self._update(request, case_study_id, partial=True)

    def _update(self, request, case_study_id, *, partial):
        body = validated(CaseStudyUpdateSerializer, request.data, partial=partial)
        case_study = services.case_study_update(case_study_id=case_study_id, **body)
        return ok(CaseStudySerializer(case_study).data)

    @extend_schema(
        operation_id="case_studies_deactivate",
        responses={200: CASE_STUDY_RESPONSE},
        description="Deactivate: the case study stops counting in students' overall_case_studies at once.",
    )
    def delete(self, request, case_study_id):
        return ok(CaseStudySerializer(services.case_study_deactivate(case_study_id=case_study_id)).data)
