"""/v1/programmes (SPEC §7.6). Reads need USER_MANAGEMENT.can_view; writes need
CATALOG.can_edit. DELETE deactivates."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from accounts.permissions import CATALOG_EDIT, USER_MANAGEMENT_VIEW, ReadWritePermission
from catalogue.programmes import selectors, services
from catalogue.programmes.serializers import ProgrammeListQuerySerializer, ProgrammeSerializer, ProgrammeWriteSerializer
from config.api import ok, page_of, paged, validated
from config.openapi import error_response
from config.serializers import enveloped

CODE_TAKEN = error_response("Another programme has this code (CONFLICT).")

PROGRAMME_RESPONSE = enveloped("ProgrammeResponse", ProgrammeSerializer())
PROGRAMME_LIST_RESPONSE = enveloped("ProgrammeListResponse", serializers.ListField(child=ProgrammeSerializer()), paged=True)


class CatalogueApi(APIView):
    permission_classes = [ReadWritePermission.of(read=USER_MANAGEMENT_VIEW, write=CATALOG_EDIT)]


class ProgrammeListApi(CatalogueApi):
    @extend_schema(operation_id="programmes_list", parameters=[ProgrammeListQuerySerializer], responses={200: PROGRAMME_LIST_RESPONSE})
    def get(self, request):
        query = validated(ProgrammeListQuerySerializer, request.query_params)
        # Queries: count, page.
        rows, paging = page_of(
            selectors.programmes_list(is_active=query.get("is_active")), page=query["page"], per_page=query["per_page"]
        )
        return paged(ProgrammeSerializer(rows, many=True).data, **paging)

    @extend_schema(operation_id="programmes_create", request=ProgrammeWriteSerializer, responses={201: PROGRAMME_RESPONSE, 409: CODE_TAKEN})
    def post(self, request):
        body = validated(ProgrammeWriteSerializer, request.data)
        programme = services.programme_create(**body)
        return ok(ProgrammeSerializer(programme).data, status=201)


class ProgrammeDetailApi(CatalogueApi):
    @extend_schema(operation_id="programmes_retrieve", responses={200: PROGRAMME_RESPONSE})
    def get(self, request, code):
        return ok(ProgrammeSerializer(selectors.programme_get(code=code)).data)

    @extend_schema(
        operation_id="programmes_update",
        request=ProgrammeWriteSerializer,
        responses={200: PROGRAMME_RESPONSE, 409: CODE_TAKEN},
        description="Replace code and name (is_active optional). A new name or code refreshes students' programme labels.",
    )
    def put(self, request, code):
        return self._update(request, code, partial=False)

    @extend_schema(
        operation_id="programmes_partial_update",
        request=ProgrammeWriteSerializer,
        responses={200: PROGRAMME_RESPONSE, 409: CODE_TAKEN},
    )
    def patch(self, request, code):
        return self._update(request, code, partial=True)

    def _update(self, request, code, *, partial):
        body = validated(ProgrammeWriteSerializer, request.data, partial=partial)
        if "code" in body:
            body["new_code"] = body.pop("code")
        programme = services.programme_update(code=code, **body)
        return ok(ProgrammeSerializer(programme).data)

    @extend_schema(operation_id="programmes_deactivate", responses={200: PROGRAMME_RESPONSE}, description="Deactivate (the programme is kept).")
    def delete(self, request, code):
        return ok(ProgrammeSerializer(services.programme_deactivate(code=code)).data)
