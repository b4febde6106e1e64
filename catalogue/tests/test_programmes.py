"""Programmes catalogue API (SPEC §7.6): /v1/programmes, looked up by code."""
import pytest

from catalogue.models import Programme
from catalogue.programmes import services as catalogue_services
from config.errors import MSG_PERMISSION_DENIED, MSG_UNAUTHENTICATED
from config.serializers import MSG_NOT_WRITABLE
from students.models import Student
from testing.factories import ProgrammeFactory, StudentFactory

PROGRAMME_KEYS = {"code", "name", "is_active", "created_at", "updated_at"}


def test_list_is_paged_and_ordered_by_code(viewer_client):
    for code in ("MBA1234", "ACC2001", "LAW3000"):
        ProgrammeFactory(code=code, name=f"Programme {code}")
    response = viewer_client.get("/v1/programmes", {"per_page": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (3, 1, 2, 2)
    assert [p["code"] for p in body["data"]] == ["ACC2001", "LAW3000"]
    assert set(body["data"][0]) == PROGRAMME_KEYS
    assert [p["code"] for p in viewer_client.get("/v1/programmes/", {"page": 2, "per_page": 2}).json()["data"]] == ["MBA1234"]


def test_list_filters_on_is_active(viewer_client):
    ProgrammeFactory(code="OLD1", is_active=False)
    ProgrammeFactory(code="NEW1")
    assert [p["code"] for p in viewer_client.get("/v1/programmes", {"is_active": 0}).json()["data"]] == ["OLD1"]
    assert [p["code"] for p in viewer_client.get("/v1/programmes", {"is_active": "true"}).json()["data"]] == ["NEW1"]


def test_list_query_count_is_fixed(viewer_client, django_assert_num_queries):
    for n in range(5):
        ProgrammeFactory(code=f"P{n}")
    # Queries: the token with its user and roles (one query), count, page.
    with django_assert_num_queries(3):
        assert len(viewer_client.get("/v1/programmes").json()["data"]) == 5


@pytest.mark.parametrize("params, field", [({"per_page": 0}, "per_page"), ({"page": -1}, "page"), ({"is_active": "maybe"}, "is_active")])
def test_bad_list_parameters_are_400(viewer_client, params, field):
    response = viewer_client.get("/v1/programmes", params)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_create_and_retrieve(admin_client):
    response = admin_client.post("/v1/programmes", {"code": "MBA1234", "name": "Master of Business Administration"}, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["is_active"] is True
    response = admin_client.get("/v1/programmes/MBA1234/")
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Master of Business Administration"


def test_duplicate_code_is_409(admin_client):
    ProgrammeFactory(code="MBA1234")
    response = admin_client.post("/v1/programmes", {"code": "MBA1234", "name": "Again"}, format="json")
    assert response.status_code == 409 and "code" in response.json()["errors"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "No code"}, "code"),
        ({"code": "MBA 1234", "name": "Space"}, "code"),
        ({"code": "X" * 33, "name": "Long"}, "code"),
        # The schema's maxLength counts the text as sent: white space trimmed afterwards counts.
        ({"code": "OK1", "name": "\u000b" + "N" * 200}, "name"),
        ({"code": "OK1"}, "name"),
        ({"code": "OK1", "name": "N", "is_active": "sometimes"}, "is_active"),
        ({"code": "OK1", "name": "N", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_bad_create_body_is_400_naming_the_field(admin_client, body, field):
    response = admin_client.post("/v1/programmes", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not Programme.objects.exists()


def test_rename_refreshes_programme_label_of_enrolled_students(admin_client):
    mba = ProgrammeFactory(code="MBA1234", name="MBA")
    acc = ProgrammeFactory(code="ACC2001", name="Accounting")
    enrolled = StudentFactory(programmes=[mba, acc])
    other = StudentFactory(programmes=[acc])
    response = admin_client.patch("/v1/programmes/MBA1234", {"name": "Master of Business Administration"}, format="json")
    assert response.status_code == 200
    enrolled.refresh_from_db()
    other.refresh_from_db()
    assert enrolled.programme_label == "Accounting, Master of Business Administration"
    assert other.programme_label == "Accounting"


def test_recode_reorders_the_label(admin_client):
    mba = ProgrammeFactory(code="MBA1234", name="MBA")
    acc = ProgrammeFactory(code="ACC2001", name="Accounting")
    student = StudentFactory(programmes=[mba, acc])
    assert admin_client.put("/v1/programmes/MBA1234", {"code": "AAA0001", "name": "MBA"}, format="json").status_code == 200
    student.refresh_from_db()
    assert student.programme_label == "MBA, Accounting"
    assert admin_client.get("/v1/programmes/MBA1234").status_code == 404


def test_recode_to_an_existing_code_is_409(admin_client):
    ProgrammeFactory(code="MBA1234")
    ProgrammeFactory(code="ACC2001")
    response = admin_client.patch("/v1/programmes/MBA1234", {"code": "ACC2001"}, format="json")
    assert response.status_code == 409


def test_rename_refreshes_labels_in_the_same_transaction(admin_client):
    from django.db import transaction

    mba = ProgrammeFactory(code="MBA1234", name="MBA")
    student = StudentFactory(programmes=[mba])
    with pytest.raises(RuntimeError), transaction.atomic():
        catalogue_services.programme_update(code="MBA1234", name="Renamed")
        assert Student.objects.get(pk=student.pk).programme_label == "Renamed"  # refreshed by the same statement
        raise RuntimeError("the request fails after the rename")
    assert Programme.objects.get(pk=mba.pk).name == "MBA"
    assert Student.objects.get(pk=student.pk).programme_label == "MBA"


def test_put_needs_code_and_name(admin_client):
    ProgrammeFactory(code="MBA1234")
    response = admin_client.put("/v1/programmes/MBA1234", {"name": "Only a name"}, format="json")
    assert response.status_code == 400 and "code" in response.json()["errors"]


def test_delete_deactivates_and_keeps_the_programme(admin_client):
    mba = ProgrammeFactory(code="MBA1234")
    student = StudentFactory(programmes=[mba])
    response = admin_client.delete("/v1/programmes/MBA1234")
    assert response.status_code == 200 and response.json()["data"]["is_active"] is False
    assert Programme.objects.get(pk=mba.pk).is_active is False
    assert student.enrolments.count() == 1


def test_unknown_code_is_404_and_malformed_code_is_400(viewer_client):
    assert viewer_client.get("/v1/programmes/NOPE").status_code == 404
    response = viewer_client.get("/v1/programmes/bad%20code")
    assert response.status_code == 400 and "code" in response.json()["errors"]


def test_read_only_fields_in_patch_are_400(admin_client):
    ProgrammeFactory(code="MBA1234", name="MBA")
    response = admin_client.patch("/v1/programmes/MBA1234", {"name": "X", "id": 99}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["id"] == [MSG_NOT_WRITABLE]
    assert Programme.objects.get(code="MBA1234").name == "MBA"


# Permissions and tenancy ----------------------------------------------------------------

CALLS = {
    "list": ("get", "/v1/programmes", None),
    "create": ("post", "/v1/programmes", {"code": "NEW1", "name": "New"}),
    "retrieve": ("get", "/v1/programmes/MBA1234", None),
    "update": ("patch", "/v1/programmes/MBA1234", {"name": "Changed"}),
    "deactivate": ("delete", "/v1/programmes/MBA1234", None),
}


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="MBA")


@pytest.mark.parametrize("call", CALLS)
def test_every_endpoint_is_401_without_credentials(anon_client, mba, call):
    method, url, body = CALLS[call]
    response = getattr(anon_client, method)(url, body, format="json")
    assert response.status_code == 401 and response.json()["message"] == MSG_UNAUTHENTICATED


@pytest.mark.parametrize("call", ["create", "update", "deactivate"])
def test_writes_need_catalog_edit(operator_client, mba, call):
    method, url, body = CALLS[call]
    response = getattr(operator_client, method)(url, body, format="json")
    assert response.status_code == 403 and response.json()["message"] == MSG_PERMISSION_DENIED
    mba.refresh_from_db()
    assert mba.name == "MBA" and mba.is_active and not Programme.objects.filter(code="NEW1").exists()


@pytest.mark.parametrize("call", ["list", "retrieve"])
def test_reads_need_user_management_view(ingest_client, mba, call):
    method, url, body = CALLS[call]
    assert getattr(ingest_client, method)(url, body, format="json").status_code == 403


@pytest.mark.parametrize("call", CALLS)
def test_every_endpoint_works_for_an_admin(admin_client, mba, call):
    method, url, body = CALLS[call]
    assert getattr(admin_client, method)(url, body, format="json").status_code in (200, 201)


@pytest.mark.parametrize("call", ["retrieve", "update", "deactivate"])
def test_another_tenant_cannot_see_or_change_our_programmes(other_tenant_client, mba, call):
    method, url, body = CALLS[call]
    assert getattr(other_tenant_client, method)(url, body, format="json").status_code == 404
    mba.refresh_from_db()
    assert mba.name == "MBA" and mba.is_active


def test_another_tenants_list_does_not_include_our_programmes(other_tenant_client, mba):
    assert other_tenant_client.get("/v1/programmes").json()["total"] == 0
