"""Case-study catalogue API (SPEC §7.6): /v1/case-studies, looked up by case_study_id."""
import pytest

from catalogue.models import CaseStudy
from config.errors import MSG_PERMISSION_DENIED, MSG_UNAUTHENTICATED
from config.serializers import MSG_NOT_WRITABLE
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory

CASE_STUDY_KEYS = {
    "case_study_id", "title", "programme_codes", "programmes", "max_attempts", "grading_method", "is_active",
    "created_at", "updated_at",
}


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Master of Business Administration")


@pytest.fixture
def acc():
    return ProgrammeFactory(code="ACC2001", name="Accounting and Finance")


def test_create_with_defaults(admin_client, mba, acc):
    response = admin_client.post(
        "/v1/case-studies", {"title": "Fuel subsidy removal in Nigeria", "programme_codes": ["MBA1234", "ACC2001"]}, format="json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert set(data) == CASE_STUDY_KEYS
    assert len(data["case_study_id"]) == 24
    assert data["programme_codes"] == ["ACC2001", "MBA1234"]
    assert data["programmes"] == [
        {"code": "ACC2001", "name": "Accounting and Finance"},
        {"code": "MBA1234", "name": "Master of Business Administration"},
    ]
    assert (data["max_attempts"], data["grading_method"], data["is_active"]) == (2, "highest", True)


def test_create_keeps_an_imported_id_and_settings(admin_client, mba):
    response = admin_client.post(
        "/v1/case-studies",
        {
            "title": "Market entry", "programme_codes": ["MBA1234"], "case_study_id": "cs-legacy-7",
            "max_attempts": 3, "grading_method": "average", "is_active": False,
        },
        format="json",
    )
    assert response.status_code == 201
    case_study = CaseStudy.objects.get(pk="cs-legacy-7")
    assert (case_study.max_attempts, case_study.grading_method, case_study.is_active) == (3, "average", False)


def test_create_with_an_existing_id_is_409(admin_client, mba):
    CaseStudyFactory(case_study_id="cs-1")
    response = admin_client.post(
        "/v1/case-studies", {"title": "Again", "programme_codes": ["MBA1234"], "case_study_id": "cs-1"}, format="json"
    )
    assert response.status_code == 409 and "case_study_id" in response.json()["errors"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"programme_codes": ["MBA1234"]}, "title"),
        ({"title": "T"}, "programme_codes"),
        ({"title": "T", "programme_codes": ["NOPE1"]}, "programme_codes"),
        ({"title": "T", "programme_codes": []}, "programme_codes"),
        ({"title": "T", "programme_codes": ["MBA1234"], "max_attempts": 101}, "max_attempts"),
        ({"title": "T", "programme_codes": ["MBA1234"], "max_attempts": -1}, "max_attempts"),
        ({"title": "T", "programme_codes": ["MBA1234"], "grading_method": "median"}, "grading_method"),
        ({"title": "T", "programme_codes": ["MBA1234"], "case_study_id": "has space"}, "case_study_id"),
        ({"title": "T", "programme_codes": ["MBA1234"], "updated_at": "2020-01-01T00:00:00Z"}, "updated_at"),
    ],
)
def test_bad_create_body_is_400_naming_the_field(admin_client, mba, body, field):
    response = admin_client.post("/v1/case-studies", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not CaseStudy.objects.exists()


def test_list_is_paged_with_programmes_and_a_fixed_query_count(viewer_client, django_assert_num_queries, mba, acc):
    for n in range(5):
        CaseStudyFactory(title=f"Case {n}", programmes=[mba, acc])
    # Queries: the token with its user and roles (one query), count, page, programmes of the page.
    with django_assert_num_queries(4):
        response = viewer_client.get("/v1/case-studies", {"per_page": 3})
    body = response.json()
    assert (body["total"], body["page_size"], body["total_pages"]) == (5, 3, 2)
    assert [c["title"] for c in body["data"]] == ["Case 0", "Case 1", "Case 2"]
    assert body["data"][0]["programme_codes"] == ["ACC2001", "MBA1234"]


def test_list_filters_on_is_active_and_programme(viewer_client, mba, acc):
    active = CaseStudyFactory(title="A", programmes=[mba])
    inactive = CaseStudyFactory(title="B", programmes=[acc], is_active=False)
    assert [c["case_study_id"] for c in viewer_client.get("/v1/case-studies", {"is_active": 1}).json()["data"]] == [active.pk]
    assert [c["case_study_id"] for c in viewer_client.get("/v1/case-studies", {"is_active": 0}).json()["data"]] == [inactive.pk]
    assert [c["case_study_id"] for c in viewer_client.get("/v1/case-studies", {"programme": "ACC2001"}).json()["data"]] == [inactive.pk]


def test_retrieve(viewer_client, mba):
    case_study = CaseStudyFactory(programmes=[mba])
    response = viewer_client.get(f"/v1/case-studies/{case_study.pk}/")
    assert response.status_code == 200 and response.json()["data"]["programme_codes"] == ["MBA1234"]


def test_unknown_id_is_404_and_malformed_id_is_400(viewer_client):
    assert viewer_client.get("/v1/case-studies/nope").status_code == 404
    response = viewer_client.get("/v1/case-studies/bad%20id")
    assert response.status_code == 400 and "case_study_id" in response.json()["errors"]


def test_patch_updates_given_fields_and_programmes(admin_client, mba, acc):
    case_study = CaseStudyFactory(title="Old title", programmes=[mba])
    response = admin_client.patch(
        f"/v1/case-studies/{case_study.pk}", {"title": "New title", "programme_codes": ["ACC2001"], "max_attempts": 4}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["title"], data["programme_codes"], data["max_attempts"]) == ("New title", ["ACC2001"], 4)
    assert data["grading_method"] == "highest"


def test_put_needs_title_and_programme_codes(admin_client, mba):
    case_study = CaseStudyFactory(programmes=[mba])
    response = admin_client.put(f"/v1/case-studies/{case_study.pk}", {"title": "Only"}, format="json")
    assert response.status_code == 400 and "programme_codes" in response.json()["errors"]


def test_case_study_id_is_not_writable_once_made_and_the_schema_of_updates_leaves_it_out(admin_client, mba):
    case_study = CaseStudyFactory(programmes=[mba])
    for value in ("other", case_study.pk):
        response = admin_client.patch(f"/v1/case-studies/{case_study.pk}", {"case_study_id": value}, format="json")
        assert response.status_code == 400 and response.json()["errors"] == {"case_study_id": [MSG_NOT_WRITABLE]}
    assert CaseStudy.objects.filter(pk=case_study.pk).exists()
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    assert "case_study_id" in components["CaseStudyWriteRequest"]["properties"]
    assert "case_study_id" not in components["CaseStudyUpdateRequest"]["properties"]
    assert "case_study_id" not in components["PatchedCaseStudyUpdateRequest"]["properties"]


def test_patch_with_unknown_programme_is_400_and_changes_nothing(admin_client, mba):
    case_study = CaseStudyFactory(title="Keep", programmes=[mba])
    response = admin_client.patch(f"/v1/case-studies/{case_study.pk}", {"title": "Lost", "programme_codes": ["ZZZ"]}, format="json")
    assert response.status_code == 400 and "programme_codes" in response.json()["errors"]
    case_study.refresh_from_db()
    assert case_study.title == "Keep" and list(case_study.programmes.values_list("code", flat=True)) == ["MBA1234"]


def test_read_only_field_in_patch_is_400(admin_client, mba):
    case_study = CaseStudyFactory(programmes=[mba])
    response = admin_client.patch(f"/v1/case-studies/{case_study.pk}", {"created_at": "2001-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["created_at"] == [MSG_NOT_WRITABLE]


def test_deactivating_removes_it_from_overall_case_studies_at_once(admin_client, mba):
    student = StudentFactory(programmes=[mba])
    kept = CaseStudyFactory(programmes=[mba])
    dropped = CaseStudyFactory(programmes=[mba])

    def overall():
        response = admin_client.get(f"/v1/console/students/{student.user_id}", {"include_case_studies": "false"})
        assert response.status_code == 200
        return response.json()["data"]["overall_case_studies"]

    assert overall() == 2
    response = admin_client.delete(f"/v1/case-studies/{dropped.pk}")
    assert response.status_code == 200 and response.json()["data"]["is_active"] is False
    assert overall() == 1
    assert CaseStudy.objects.filter(pk=dropped.pk, is_active=False).exists() and kept.is_active


# Permissions and tenancy ----------------------------------------------------------------


@pytest.fixture
def case_study(mba):
    return CaseStudyFactory(title="Original", programmes=[mba])


def calls(case_study):
    url = f"/v1/case-studies/{case_study.pk}"
    return {
        "list": ("get", "/v1/case-studies", None),
        "create": ("post", "/v1/case-studies", {"title": "New", "programme_codes": ["MBA1234"]}),
        "retrieve": ("get", url, None),
        "update": ("patch", url, {"title": "Changed"}),
        "deactivate": ("delete", url, None),
    }


CALL_NAMES = ["list", "create", "retrieve", "update", "deactivate"]


@pytest.mark.parametrize("call", CALL_NAMES)
def test_every_endpoint_is_401_without_credentials(anon_client, case_study, call):
    method, url, body = calls(case_study)[call]
    response = getattr(anon_client, method)(url, body, format="json")
    assert response.status_code == 401 and response.json()["message"] == MSG_UNAUTHENTICATED


@pytest.mark.parametrize("call", ["create", "update", "deactivate"])
def test_writes_need_catalog_edit(operator_client, case_study, call):
    method, url, body = calls(case_study)[call]
    response = getattr(operator_client, method)(url, body, format="json")
    assert response.status_code == 403 and response.json()["message"] == MSG_PERMISSION_DENIED
    case_study.refresh_from_db()
    assert case_study.title == "Original" and case_study.is_active and CaseStudy.objects.count() == 1


@pytest.mark.parametrize("call", ["list", "retrieve"])
def test_reads_need_user_management_view(ingest_client, case_study, call):
    method, url, body = calls(case_study)[call]
    assert getattr(ingest_client, method)(url, body, format="json").status_code == 403


@pytest.mark.parametrize("call", CALL_NAMES)
def test_every_endpoint_works_for_an_admin(admin_client, case_study, call):
    method, url, body = calls(case_study)[call]
    assert getattr(admin_client, method)(url, body, format="json").status_code in (200, 201)


@pytest.mark.parametrize("call", ["retrieve", "update", "deactivate"])
def test_another_tenant_cannot_see_or_change_our_case_studies(other_tenant_client, case_study, call):
    method, url, body = calls(case_study)[call]
    assert getattr(other_tenant_client, method)(url, body, format="json").status_code == 404
    case_study.refresh_from_db()
    assert case_study.title == "Original" and case_study.is_active


def test_another_tenants_list_does_not_include_our_case_studies(other_tenant_client, case_study):
    assert other_tenant_client.get("/v1/case-studies").json()["total"] == 0


def test_openapi_schema_describes_catalogue_records_and_ingestion():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values() if "operationId" in op}
    expected = {
        "programmes_list", "programmes_create", "programmes_retrieve", "programmes_update", "programmes_partial_update",
        "programmes_deactivate", "case_studies_list", "case_studies_create", "case_studies_retrieve",
        "case_studies_update", "case_studies_partial_update", "case_studies_deactivate", "sessions_upsert",
        "students_list", "students_create", "students_retrieve", "students_partial_update", "students_destroy",
        "students_archive", "students_unarchive", "students_avatar_update", "students_avatar_destroy",
    }
    assert expected <= operations
    ingest = schema["paths"]["/v1/sessions/{session_id}/"]["put"]
    assert set(ingest["responses"]) >= {"200", "201", "409"}  # 409: a session cannot move
    # A duplicate case study id or programme code is a documented 409.
    assert "409" in schema["paths"]["/v1/case-studies/"]["post"]["responses"]
    for method in ("post",):
        assert "409" in schema["paths"]["/v1/programmes/"][method]["responses"]
    for method in ("put", "patch"):
        assert "409" in schema["paths"]["/v1/programmes/{code}/"][method]["responses"]
    assert "multipart/form-data" in schema["paths"]["/v1/students/{user_id}/avatar/"]["put"]["requestBody"]["content"]


def test_reads_by_any_safe_method_need_only_the_view_permission(viewer_client):
    assert viewer_client.head("/v1/programmes").status_code == 200
    assert viewer_client.options("/v1/programmes").status_code == 200
    assert viewer_client.post("/v1/programmes", {"code": "X1", "name": "X"}, format="json").status_code == 403


def test_a_case_study_cannot_lose_its_last_programme(admin_client, mba):
    from catalogue.case_studies.serializers import MSG_NO_PROGRAMMES

    case_study = CaseStudyFactory(programmes=[mba])
    response = admin_client.patch(f"/v1/case-studies/{case_study.pk}", {"programme_codes": []}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"programme_codes": [MSG_NO_PROGRAMMES]}
    assert list(case_study.programmes.values_list("code", flat=True)) == ["MBA1234"]
