"""Catalogue API (SPEC §7.6): /v1/programmes and /v1/case-studies.
Reads need USER_MANAGEMENT.can_view; writes need CATALOG.can_edit. DELETE deactivates."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from accounts.permissions import CATALOG_EDIT, USER_MANAGEMENT_VIEW, ReadWritePermission
from attempts import catalogue_services as catalogue
from attempts.catalogue_serializers import (
    CaseStudyListQuerySerializer,
    CaseStudySerializer,
    CaseStudyWriteSerializer,
    ProgrammeListQuerySerializer,
    ProgrammeSerializer,
    ProgrammeWriteSerializer,
)
from config.api import ok, page_of, paged, validated
from students.serializers import enveloped

PROGRAMME_RESPONSE = enveloped("ProgrammeResponse", ProgrammeSerializer())
PROGRAMME_LIST_RESPONSE = enveloped("ProgrammeListResponse", serializers.ListField(child=ProgrammeSerializer()), paged=True)
CASE_STUDY_RESPONSE = enveloped("CaseStudyResponse", CaseStudySerializer())
CASE_STUDY_LIST_RESPONSE = enveloped(
    "CaseStudyListResponse", serializers.ListField(child=CaseStudySerializer()), paged=True
)


class _CatalogueApi(APIView):
    permission_classes = [ReadWritePermission.of(read=USER_MANAGEMENT_VIEW, write=CATALOG_EDIT)]


class ProgrammeListApi(_CatalogueApi):
    @extend_schema(operation_id="programmes_list", parameters=[ProgrammeListQuerySerializer], responses={200: PROGRAMME_LIST_RESPONSE})
    def get(self, request):
        query = validated(ProgrammeListQuerySerializer, request.query_params)
        # Queries: count, page.
        rows, paging = page_of(
            catalogue.programmes_list(is_active=query.get("is_active")), page=query["page"], per_page=query["per_page"]
        )
        return paged(ProgrammeSerializer(rows, many=True).data, **paging)

    @extend_schema(operation_id="programmes_create", request=ProgrammeWriteSerializer, responses={201: PROGRAMME_RESPONSE})
    def post(self, request):
        body = validated(ProgrammeWriteSerializer, request.data)
        programme = catalogue.programme_create(**body)
        return ok(ProgrammeSerializer(programme).data, status=201)


class ProgrammeDetailApi(_CatalogueApi):
    @extend_schema(operation_id="programmes_retrieve", responses={200: PROGRAMME_RESPONSE})
    def get(self, request, code):
        return ok(ProgrammeSerializer(catalogue.programme_get(code=code)).data)

    @extend_schema(
        operation_id="programmes_update",
        request=ProgrammeWriteSerializer,
        responses={200: PROGRAMME_RESPONSE},
        description="Replace code and name (is_active optional). A new name or code refreshes students' programme labels.",
    )
    def put(self, request, code):
        return self._update(request, code, partial=False)

    @extend_schema(operation_id="programmes_partial_update", request=ProgrammeWriteSerializer, responses={200: PROGRAMME_RESPONSE})
    def patch(self, request, code):
        return self._update(request, code, partial=True)

    def _update(self, request, code, *, partial):
        programme = catalogue.programme_get(code=code)
        body = validated(ProgrammeWriteSerializer, request.data, partial=partial)
        programme = catalogue.programme_update(programme=programme, **body)
        return ok(ProgrammeSerializer(programme).data)

    @extend_schema(operation_id="programmes_deactivate", responses={200: PROGRAMME_RESPONSE}, description="Deactivate (the programme is kept).")
    def delete(self, request, code):
        programme = catalogue.programme_deactivate(programme=catalogue.programme_get(code=code))
        return ok(ProgrammeSerializer(programme).data)


class CaseStudyListApi(_CatalogueApi):
    @extend_schema(
        operation_id="case_studies_list", parameters=[CaseStudyListQuerySerializer], responses={200: CASE_STUDY_LIST_RESPONSE}
    )
    def get(self, request):
        query = validated(CaseStudyListQuerySerializer, request.query_params)
        qs = catalogue.case_studies_list(is_active=query.get("is_active"), programme=query.get("programme"))
        # Queries: count, page, programmes of the page.
        rows, paging = page_of(qs, page=query["page"], per_page=query["per_page"])
        return paged(CaseStudySerializer(rows, many=True).data, **paging)

    @extend_schema(operation_id="case_studies_create", request=CaseStudyWriteSerializer, responses={201: CASE_STUDY_RESPONSE})
    def post(self, request):
        body = validated(CaseStudyWriteSerializer, request.data)
        case_study = catalogue.case_study_create(**body)
        return ok(CaseStudySerializer(catalogue.case_study_get(case_study_id=case_study.pk)).data, status=201)


class CaseStudyDetailApi(_CatalogueApi):
    @extend_schema(operation_id="case_studies_retrieve", responses={200: CASE_STUDY_RESPONSE})
    def get(self, request, case_study_id):
        return ok(CaseStudySerializer(catalogue.case_study_get(case_study_id=case_study_id)).data)

    @extend_schema(operation_id="case_studies_update", request=CaseStudyWriteSerializer, responses={200: CASE_STUDY_RESPONSE})
    def put(self, request, case_study_id):
        return self._update(request, case_study_id, partial=False)

    @extend_schema(operation_id="case_studies_partial_update", request=CaseStudyWriteSerializer, responses={200: CASE_STUDY_RESPONSE})
    def patch(self, request, case_study_id):
        return self._update(request, case_study_id, partial=True)

    def _update(self, request, case_study_id, *, partial):
        case_study = catalogue.case_study_get(case_study_id=case_study_id)
        body = validated(CaseStudyWriteSerializer, request.data, partial=partial)
        case_study = catalogue.case_study_update(case_study=case_study, **body)
        return ok(CaseStudySerializer(catalogue.case_study_get(case_study_id=case_study.pk)).data)

    @extend_schema(
        operation_id="case_studies_deactivate",
        responses={200: CASE_STUDY_RESPONSE},
        description="Deactivate: the case study stops counting in students' overall_case_studies at once.",
    )
    def delete(self, request, case_study_id):
        case_study = catalogue.case_study_deactivate(case_study=catalogue.case_study_get(case_study_id=case_study_id))
        return ok(CaseStudySerializer(catalogue.case_study_get(case_study_id=case_study.pk)).data)
