"""Student clusters, groups and group memberships: /v1/student-clusters, /v1/student-groups."""
import re

import pytest
from django.utils import timezone

from accounts.permissions import CATALOG_EDIT
from config.errors import MSG_NOT_FOUND
from students.groups.services import (
    MSG_ARCHIVED_STUDENTS,
    MSG_CLUSTER_HAS_GROUPS,
    MSG_CLUSTER_NOT_FOUND,
    MSG_UNKNOWN_STUDENTS,
)
from students.models import ArchivedMembership, GroupMembership, Student, StudentCluster, StudentGroup
from testing.factories import HOSTILE_NAME, StaffUserFactory, StudentClusterFactory, StudentFactory, StudentGroupFactory

GROUP_KEYS = {"id", "name", "student_cluster_id", "created_at", "updated_at", "member_count"}
CLUSTER_KEYS = {"id", "name", "created_at", "updated_at", "group_count"}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _members(group, *students):
    for student in students:
        GroupMembership.objects.create(group=group, student=student)


def _member_ids(group):
    return set(GroupMembership.objects.filter(group=group).values_list("student_id", flat=True))


def _field_errors(response, field):
    body = response.json()
    assert response.status_code == 400, body
    assert body["success"] is False and body["code"] == "VALIDATION_ERROR"
    assert field in body["errors"], body["errors"]
    return body["errors"][field]


@pytest.fixture
def cluster():
    return StudentClusterFactory(name="Financial services")


@pytest.fixture
def group(cluster):
    return StudentGroupFactory(name="2nd year associates financial services", cluster=cluster)


@pytest.fixture
def catalog_editor(tenant):
    """Can edit the catalogue but not view students: writes only need CATALOG.can_edit."""
    from accounts.models import Role

    role = Role.objects.create(name="catalogue", permissions=[CATALOG_EDIT])
    user = StaffUserFactory(email="catalogue@uni.example")
    user.roles.set([role])
    return user


# Clusters ---------------------------------------------------------------------------------


def test_cluster_create_returns_the_cluster_with_no_groups(admin_client):
    response = admin_client.post("/v1/student-clusters", {"name": "Banking — Søren's cohort"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and body["message"] is None
    data = body["data"]
    assert set(data) == CLUSTER_KEYS
    assert data["name"] == "Banking — Søren's cohort" and data["group_count"] == 0
    assert re.fullmatch(r"[0-9a-f]{24}", data["id"])
    assert ISO_Z.match(data["created_at"]) and ISO_Z.match(data["updated_at"])
    assert StudentCluster.objects.filter(pk=data["id"]).exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 255])
def test_cluster_create_rejects_blank_or_long_name(admin_client, name):
    response = admin_client.post("/v1/student-clusters/", {"name": name}, format="json")
    _field_errors(response, "name")
    assert not StudentCluster.objects.exists()


def test_cluster_create_accepts_a_254_character_name(admin_client):
    response = admin_client.post("/v1/student-clusters", {"name": "é" * 254}, format="json")
    assert response.status_code == 201


def test_cluster_list_is_paged_with_group_counts(viewer_client, cluster):
    StudentGroupFactory.create_batch(2, cluster=cluster)
    StudentClusterFactory(name="Audit")
    response = viewer_client.get("/v1/student-clusters", {"per_page": 1, "page": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (2, 2, 1, 2)
    assert [c["name"] for c in body["data"]] == ["Financial services"]
    assert body["data"][0]["group_count"] == 2


def test_cluster_retrieve_update_and_delete(admin_client, cluster):
    url = f"/v1/student-clusters/{cluster.pk}"
    assert admin_client.get(url + "/").json()["data"]["name"] == "Financial services"
    response = admin_client.put(url, {"name": "Insurance"}, format="json")
    assert response.status_code == 200 and response.json()["data"]["name"] == "Insurance"
    response = admin_client.patch(url + "/", {"name": "Insurance & pensions"}, format="json")
    assert response.json()["data"]["name"] == "Insurance & pensions"
    _field_errors(admin_client.patch(url, {"name": ""}, format="json"), "name")
    response = admin_client.delete(url)
    assert response.status_code == 200 and response.json()["data"] is None
    assert admin_client.get(url).status_code == 404


def test_a_cluster_put_takes_the_whole_record_so_its_name_is_required(admin_client, cluster):
    url = f"/v1/student-clusters/{cluster.pk}"
    _field_errors(admin_client.put(url, {}, format="json"), "name")
    assert admin_client.patch(url, {}, format="json").status_code == 200


def test_a_group_put_updates_only_the_fields_sent_and_the_schema_says_so(admin_client, group):
    response = admin_client.put(f"/v1/student-groups/{group.pk}", {}, format="json")
    assert response.status_code == 200 and response.json()["data"]["name"] == group.name
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    put = paths["/v1/student-groups/{group_id}/"]["put"]["requestBody"]
    assert put["content"]["application/json"]["schema"]["$ref"].endswith("/PatchedGroupWriteRequest")
    assert not put.get("required")
    cluster_put = paths["/v1/student-clusters/{cluster_id}/"]["put"]["requestBody"]
    assert cluster_put["required"] and cluster_put["content"]["application/json"]["schema"]["$ref"].endswith("/ClusterWriteRequest")


def test_cluster_with_groups_cannot_be_deleted(admin_client, group, cluster):
    response = admin_client.delete(f"/v1/student-clusters/{cluster.pk}")
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT" and response.json()["message"] == MSG_CLUSTER_HAS_GROUPS
    assert StudentCluster.objects.filter(pk=cluster.pk).exists()


def test_unknown_cluster_is_404_and_malformed_id_is_400(admin_client):
    response = admin_client.get("/v1/student-clusters/5f0000000000000000000000")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND" and response.json()["message"] == MSG_NOT_FOUND
    assert admin_client.patch("/v1/student-clusters/nope%20nope", {"name": "x"}, format="json").status_code == 400


def test_cluster_reads_need_view_and_writes_need_catalog_edit(viewer_client, operator_client, cluster):
    assert viewer_client.get("/v1/student-clusters").status_code == 200
    assert viewer_client.get(f"/v1/student-clusters/{cluster.pk}").status_code == 200
    for response in (
        viewer_client.post("/v1/student-clusters", {"name": "New"}, format="json"),
        operator_client.put(f"/v1/student-clusters/{cluster.pk}", {"name": "New"}, format="json"),
        operator_client.delete(f"/v1/student-clusters/{cluster.pk}"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "PERMISSION_DENIED"
    assert StudentCluster.objects.get(pk=cluster.pk).name == "Financial services"


def test_cluster_endpoints_need_credentials(anon_client, cluster):
    for response in (
        anon_client.get("/v1/student-clusters"),
        anon_client.post("/v1/student-clusters", {"name": "x"}, format="json"),
        anon_client.get(f"/v1/student-clusters/{cluster.pk}"),
        anon_client.delete(f"/v1/student-clusters/{cluster.pk}"),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHENTICATED"


def test_clusters_of_another_tenant_are_invisible(other_tenant_client, cluster):
    assert other_tenant_client.get("/v1/student-clusters").json()["total"] == 0
    assert other_tenant_client.get(f"/v1/student-clusters/{cluster.pk}").status_code == 404
    assert other_tenant_client.delete(f"/v1/student-clusters/{cluster.pk}").status_code == 404
    assert StudentCluster.objects.filter(pk=cluster.pk).exists()


# Groups -----------------------------------------------------------------------------------


def test_group_create_returns_the_seed_shape(admin_client, cluster):
    response = admin_client.post(
        "/v1/student-groups",
        {"name": "2nd year associates financial services", "student_cluster_id": cluster.pk},
        format="json",
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == GROUP_KEYS
    assert data["name"] == "2nd year associates financial services"
    assert data["student_cluster_id"] == cluster.pk and data["member_count"] == 0
    assert re.fullmatch(r"[0-9a-f]{24}", data["id"])
    assert ISO_Z.match(data["created_at"]) and ISO_Z.match(data["updated_at"])


def test_group_create_keeps_hostile_names_as_text(admin_client, cluster):
    response = admin_client.post(
        "/v1/student-groups/", {"name": HOSTILE_NAME, "student_cluster_id": cluster.pk}, format="json"
    )
    assert response.status_code == 201 and response.json()["data"]["name"] == HOSTILE_NAME


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "", "student_cluster_id": "CLUSTER"}, "name"),
        ({"name": "   ", "student_cluster_id": "CLUSTER"}, "name"),
        ({"name": "x" * 255, "student_cluster_id": "CLUSTER"}, "name"),
        ({"student_cluster_id": "CLUSTER"}, "name"),
        ({"name": "Year 2"}, "student_cluster_id"),
        ({"name": "Year 2", "student_cluster_id": None}, "student_cluster_id"),
        ({"name": "Year 2", "student_cluster_id": "has spaces"}, "student_cluster_id"),
    ],
)
def test_group_create_rejects_bad_fields(admin_client, cluster, body, field):
    body = {k: (cluster.pk if v == "CLUSTER" else v) for k, v in body.items()}
    _field_errors(admin_client.post("/v1/student-groups", body, format="json"), field)
    assert not StudentGroup.objects.exists()


def test_group_create_with_unknown_cluster_is_400(admin_client):
    response = admin_client.post(
        "/v1/student-groups", {"name": "Year 2", "student_cluster_id": "5f0000000000000000000000"}, format="json"
    )
    assert _field_errors(response, "student_cluster_id") == [MSG_CLUSTER_NOT_FOUND]
    assert not StudentGroup.objects.exists()


def test_group_list_returns_all_groups_paged_by_name(viewer_client, cluster):
    StudentGroupFactory(name="Zoë's seminar", cluster=cluster)
    StudentGroupFactory(name="Année préparatoire", cluster=cluster)
    StudentGroupFactory(name="Łódź exchange", cluster=StudentClusterFactory())
    response = viewer_client.get("/v1/student-groups")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (3, 1, 50, 1)
    assert [g["name"] for g in body["data"]] == ["Année préparatoire", "Zoë's seminar", "Łódź exchange"]
    assert all(set(g) == GROUP_KEYS for g in body["data"])
    page2 = viewer_client.get("/v1/student-groups/", {"page": 2, "per_page": 2}).json()
    assert [g["name"] for g in page2["data"]] == ["Łódź exchange"] and page2["total_pages"] == 2


def test_group_list_filters_by_cluster(viewer_client, cluster):
    StudentGroupFactory(name="In", cluster=cluster)
    StudentGroupFactory(name="Out", cluster=StudentClusterFactory())
    body = viewer_client.get("/v1/student-groups", {"student_cluster_id": cluster.pk}).json()
    assert [g["name"] for g in body["data"]] == ["In"]


@pytest.mark.parametrize(
    "params, field",
    [({"page": 0}, "page"), ({"page": "two"}, "page"), ({"per_page": 0}, "per_page"), ({"per_page": 101}, "per_page")],
)
def test_group_list_rejects_bad_paging(viewer_client, params, field):
    _field_errors(viewer_client.get("/v1/student-groups", params), field)


def test_page_past_the_end_is_empty(viewer_client, group):
    body = viewer_client.get("/v1/student-groups", {"page": 9}).json()
    assert body["data"] == [] and body["total"] == 1


def test_member_count_excludes_archived_and_deleted_students(viewer_client, group):
    active, inactive, archived, deleted = StudentFactory.create_batch(4)
    Student.objects.filter(pk=inactive.pk).update(status=Student.Status.INACTIVE)
    Student.objects.filter(pk=archived.pk).update(archived=True)
    Student.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    _members(group, active, inactive, archived, deleted)
    listed = viewer_client.get("/v1/student-groups").json()["data"][0]
    one = viewer_client.get(f"/v1/student-groups/{group.pk}").json()["data"]
    assert listed["member_count"] == one["member_count"] == 2


def test_group_put_with_only_a_name_renames_it(admin_client, group, cluster):
    before = group.updated_at
    response = admin_client.put(
        f"/v1/student-groups/{group.pk}", {"name": "No more 2nd year associates financial services"}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["name"] == "No more 2nd year associates financial services"
    assert data["student_cluster_id"] == cluster.pk
    group.refresh_from_db()
    assert group.updated_at > before


def test_group_patch_moves_it_to_another_cluster(admin_client, group):
    other = StudentClusterFactory(name="Audit")
    response = admin_client.patch(f"/v1/student-groups/{group.pk}/", {"student_cluster_id": other.pk}, format="json")
    assert response.status_code == 200 and response.json()["data"]["student_cluster_id"] == other.pk


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 255}, "name"),
        ({"name": "Fine", "student_cluster_id": "5f0000000000000000000000"}, "student_cluster_id"),
    ],
)
def test_group_update_rejects_bad_fields_and_changes_nothing(admin_client, group, cluster, method, body, field):
    response = getattr(admin_client, method)(f"/v1/student-groups/{group.pk}", body, format="json")
    _field_errors(response, field)
    group.refresh_from_db()
    assert (group.name, group.cluster_id) == ("2nd year associates financial services", cluster.pk)


def test_group_delete_removes_memberships_but_not_students(admin_client, group):
    student = StudentFactory()
    _members(group, student)
    response = admin_client.delete(f"/v1/student-groups/{group.pk}/")
    assert response.status_code == 200 and response.json()["success"] is True
    assert not StudentGroup.objects.filter(pk=group.pk).exists()
    assert not GroupMembership.objects.exists()
    assert Student.objects.filter(pk=student.pk).exists()
    assert admin_client.get(f"/v1/student-groups/{group.pk}").status_code == 404


def test_unknown_group_is_404_everywhere(admin_client):
    missing = "5f0000000000000000000000"
    for response in (
        admin_client.get(f"/v1/student-groups/{missing}"),
        admin_client.put(f"/v1/student-groups/{missing}", {"name": "x"}, format="json"),
        admin_client.patch(f"/v1/student-groups/{missing}", {"name": "x"}, format="json"),
        admin_client.delete(f"/v1/student-groups/{missing}"),
        admin_client.get(f"/v1/student-groups/{missing}/members"),
        admin_client.post(f"/v1/student-groups/{missing}/members", {"user_ids": ["a1"]}, format="json"),
        admin_client.delete(f"/v1/student-groups/{missing}/members", {"user_ids": ["a1"]}, format="json"),
        admin_client.get(f"/v1/student-groups/{missing}/results"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"


def test_malformed_group_id_is_400_naming_id(admin_client):
    assert "id" in admin_client.get("/v1/student-groups/bad%20id").json()["errors"]


def test_unsupported_method_is_405_in_the_envelope(admin_client, group):
    response = admin_client.post(f"/v1/student-groups/{group.pk}", {"name": "x"}, format="json")
    assert response.status_code == 405 and response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_group_reads_need_view_and_writes_need_catalog_edit(viewer_client, operator_client, group, cluster):
    assert viewer_client.get("/v1/student-groups").status_code == 200
    assert viewer_client.get(f"/v1/student-groups/{group.pk}").status_code == 200
    assert viewer_client.get(f"/v1/student-groups/{group.pk}/members").status_code == 200
    student = StudentFactory()
    for response in (
        viewer_client.post("/v1/student-groups", {"name": "x", "student_cluster_id": cluster.pk}, format="json"),
        operator_client.put(f"/v1/student-groups/{group.pk}", {"name": "x"}, format="json"),
        operator_client.patch(f"/v1/student-groups/{group.pk}", {"name": "x"}, format="json"),
        operator_client.delete(f"/v1/student-groups/{group.pk}"),
        viewer_client.post(f"/v1/student-groups/{group.pk}/members", {"user_ids": [student.pk]}, format="json"),
        viewer_client.delete(f"/v1/student-groups/{group.pk}/members", {"user_ids": [student.pk]}, format="json"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "PERMISSION_DENIED"
    group.refresh_from_db()
    assert group.name == "2nd year associates financial services" and not _member_ids(group)


def test_catalog_editor_can_write_but_not_read(api_as, catalog_editor, group):
    client = api_as(catalog_editor)
    assert client.patch(f"/v1/student-groups/{group.pk}", {"name": "Renamed"}, format="json").status_code == 200
    assert client.get(f"/v1/student-groups/{group.pk}").status_code == 403
    assert client.get("/v1/student-groups").status_code == 403


def test_group_endpoints_need_credentials(anon_client, group):
    for response in (
        anon_client.get("/v1/student-groups"),
        anon_client.post("/v1/student-groups", {"name": "x"}, format="json"),
        anon_client.get(f"/v1/student-groups/{group.pk}"),
        anon_client.put(f"/v1/student-groups/{group.pk}", {"name": "x"}, format="json"),
        anon_client.patch(f"/v1/student-groups/{group.pk}", {"name": "x"}, format="json"),
        anon_client.delete(f"/v1/student-groups/{group.pk}"),
        anon_client.get(f"/v1/student-groups/{group.pk}/members"),
        anon_client.post(f"/v1/student-groups/{group.pk}/members", {"user_ids": ["a"]}, format="json"),
        anon_client.delete(f"/v1/student-groups/{group.pk}/members", {"user_ids": ["a"]}, format="json"),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHENTICATED"


def test_groups_of_another_tenant_are_invisible(other_tenant_client, group):
    student = StudentFactory()
    _members(group, student)
    assert other_tenant_client.get("/v1/student-groups").json()["total"] == 0
    for response in (
        other_tenant_client.get(f"/v1/student-groups/{group.pk}"),
        other_tenant_client.patch(f"/v1/student-groups/{group.pk}", {"name": "x"}, format="json"),
        other_tenant_client.delete(f"/v1/student-groups/{group.pk}"),
        other_tenant_client.get(f"/v1/student-groups/{group.pk}/members"),
        other_tenant_client.post(f"/v1/student-groups/{group.pk}/members", {"user_ids": [student.pk]}, format="json"),
        other_tenant_client.put(f"/v1/student-groups/{group.pk}", {"name": "x"}, format="json"),
        other_tenant_client.delete(f"/v1/student-groups/{group.pk}/members", {"user_ids": [student.pk]}, format="json"),
    ):
        assert response.status_code == 404
    group.refresh_from_db()
    assert group.name == "2nd year associates financial services" and _member_ids(group) == {student.pk}


# Members ----------------------------------------------------------------------------------


def test_add_members_adds_them_and_is_idempotent(admin_client, group):
    first, second = StudentFactory.create_batch(2)
    url = f"/v1/student-groups/{group.pk}/members"
    response = admin_client.post(url, {"user_ids": [first.pk, second.pk, first.pk]}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["added"], data["already_members"]) == (2, 0)
    assert set(data["group"]) == GROUP_KEYS and data["group"]["member_count"] == 2
    response = admin_client.post(url + "/", {"user_ids": [first.pk]}, format="json")
    assert (response.json()["data"]["added"], response.json()["data"]["already_members"]) == (0, 1)
    assert _member_ids(group) == {first.pk, second.pk}


def test_add_members_with_unknown_or_deleted_ids_is_400_naming_them_and_changes_nothing(admin_client, group):
    good = StudentFactory()
    deleted = StudentFactory()
    Student.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    response = admin_client.post(
        f"/v1/student-groups/{group.pk}/members",
        {"user_ids": [good.pk, "ghost-1", deleted.pk]},
        format="json",
    )
    assert _field_errors(response, "user_ids") == [MSG_UNKNOWN_STUDENTS.format(ids=f"ghost-1, {deleted.pk}")]
    assert not _member_ids(group)


def test_archived_students_cannot_be_added(admin_client, group):
    good = StudentFactory()
    archived = StudentFactory()
    Student.objects.filter(pk=archived.pk).update(archived=True)
    response = admin_client.post(
        f"/v1/student-groups/{group.pk}/members", {"user_ids": [good.pk, archived.pk]}, format="json"
    )
    assert _field_errors(response, "user_ids") == [MSG_ARCHIVED_STUDENTS.format(ids=archived.pk)]
    assert not _member_ids(group)


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "user_ids"),
        ({"user_ids": []}, "user_ids"),
        ({"user_ids": "abc"}, "user_ids"),
        ({"user_ids": ["s1", "bad id"]}, "user_ids.1"),  # each malformed id is named by its index
        ({"user_ids": [f"s{i}" for i in range(1001)]}, "user_ids"),
    ],
)
def test_member_changes_reject_bad_user_id_lists(admin_client, group, body, field):
    url = f"/v1/student-groups/{group.pk}/members"
    assert _field_errors(admin_client.post(url, body, format="json"), field) == _field_errors(
        admin_client.delete(url, body, format="json"), field
    )
    assert not _member_ids(group)


def test_a_thousand_members_can_be_added_at_once(admin_client, group):
    students = Student.objects.bulk_create(
        [Student(first_name="Ngozi", last_name=f"Nwosu {i}", email=f"bulk{i}@uni.example") for i in range(1000)]
    )
    response = admin_client.post(
        f"/v1/student-groups/{group.pk}/members", {"user_ids": [s.pk for s in students]}, format="json"
    )
    assert response.status_code == 200 and response.json()["data"]["group"]["member_count"] == 1000


def test_remove_members_removes_them_and_ignores_non_members(admin_client, group):
    member, bystander = StudentFactory.create_batch(2)
    _members(group, member)
    response = admin_client.delete(
        f"/v1/student-groups/{group.pk}/members", {"user_ids": [member.pk, bystander.pk]}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["removed"], data["not_members"], data["group"]["member_count"]) == (1, 1, 0)
    assert not _member_ids(group)


def test_remove_members_with_unknown_id_is_400_and_changes_nothing(admin_client, group):
    member = StudentFactory()
    _members(group, member)
    response = admin_client.delete(
        f"/v1/student-groups/{group.pk}/members/", {"user_ids": [member.pk, "ghost-2"]}, format="json"
    )
    assert _field_errors(response, "user_ids") == [MSG_UNKNOWN_STUDENTS.format(ids="ghost-2")]
    assert _member_ids(group) == {member.pk}


def test_removing_an_archived_student_forgets_the_remembered_membership(admin_client, group):
    archived = StudentFactory()
    Student.objects.filter(pk=archived.pk).update(archived=True)
    ArchivedMembership.objects.create(group=group, student=archived)
    response = admin_client.delete(f"/v1/student-groups/{group.pk}/members", {"user_ids": [archived.pk]}, format="json")
    assert response.status_code == 200 and response.json()["data"]["removed"] == 1
    assert not ArchivedMembership.objects.filter(group=group).exists()


def test_member_list_excludes_archived_and_deleted_students(viewer_client, group):
    shown = StudentFactory(first_name="Aïcha", last_name="Diallo")
    other = StudentFactory(first_name="Chidinma", last_name="Okafọr")
    archived = StudentFactory()
    deleted = StudentFactory()
    Student.objects.filter(pk=archived.pk).update(archived=True)
    Student.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    _members(group, other, shown, archived, deleted)
    body = viewer_client.get(f"/v1/student-groups/{group.pk}/members").json()
    assert body["total"] == 2
    assert [m["student_name"] for m in body["data"]] == ["Aïcha Diallo", "Chidinma Okafọr"]
    assert set(body["data"][0]) == {"user_id", "student_name", "email", "status", "added_at"}


# Query counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("n_groups", [2, 12])
def test_group_list_query_count_does_not_grow_with_rows(viewer_client, cluster, django_assert_num_queries, n_groups):
    for group in StudentGroupFactory.create_batch(n_groups, cluster=cluster):
        _members(group, *StudentFactory.create_batch(3))
    # the token with its user and roles (one query), count, page (member_count is a correlated
    # subquery in the page query)
    with django_assert_num_queries(3):
        body = viewer_client.get("/v1/student-groups").json()
    assert len(body["data"]) == n_groups and all(g["member_count"] == 3 for g in body["data"])


@pytest.mark.parametrize("n_clusters", [2, 12])
def test_cluster_list_query_count_does_not_grow_with_rows(viewer_client, django_assert_num_queries, n_clusters):
    for cluster in StudentClusterFactory.create_batch(n_clusters):
        StudentGroupFactory.create_batch(2, cluster=cluster)
    # the token with its user and roles (one query), count, page (group_count is a correlated
    # subquery in the page query)
    with django_assert_num_queries(3):
        body = viewer_client.get("/v1/student-clusters").json()
    assert len(body["data"]) == n_clusters and all(c["group_count"] == 2 for c in body["data"])


@pytest.mark.parametrize("n_members", [2, 30])
def test_member_list_query_count_does_not_grow_with_rows(viewer_client, group, django_assert_num_queries, n_members):
    _members(group, *StudentFactory.create_batch(n_members))
    # the token with its user and roles (one query), group, count, page
    with django_assert_num_queries(4):
        body = viewer_client.get(f"/v1/student-groups/{group.pk}/members").json()
    assert body["total"] == n_members



def test_member_of_several_groups_is_listed_once_per_group(viewer_client, group, cluster):
    student = StudentFactory()
    other = StudentGroupFactory(cluster=cluster)
    _members(other, student)
    _members(group, student)
    body = viewer_client.get(f"/v1/student-groups/{group.pk}/members").json()
    assert body["total"] == 1 and [m["user_id"] for m in body["data"]] == [student.pk]
    added = GroupMembership.objects.get(group=group, student=student).added_at
    assert body["data"][0]["added_at"] == added.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_archiving_takes_a_member_out_and_unarchiving_brings_them_back(viewer_client, group):
    import datetime as dt

    from students.records.services import student_archive, student_unarchive

    student = StudentFactory()
    _members(group, student)
    student_archive(user_id=student.pk, withdrawn_on=dt.date(2026, 1, 31))
    assert viewer_client.get(f"/v1/student-groups/{group.pk}").json()["data"]["member_count"] == 0
    assert viewer_client.get(f"/v1/student-groups/{group.pk}/members").json()["total"] == 0
    student_unarchive(user_id=student.pk)
    assert viewer_client.get(f"/v1/student-groups/{group.pk}").json()["data"]["member_count"] == 1


def test_adding_members_while_they_are_archived_never_deadlocks_or_leaves_archived_members(committed_tenant):
    """Each student is a member already; one thread re-adds them while another archives them.
    Archiving locks the student and then writes a remembered membership pointing at the group;
    adding locks the group and then the students. Every pair must finish (no lock cycle) and
    no archived student may stay a member."""
    import datetime as dt
    import threading

    from django.db import connection

    from config.errors import AppError
    from students.groups.services import student_group_members_add
    from students.records.services import student_archive

    group = StudentGroupFactory(cluster=StudentClusterFactory())
    students = StudentFactory.create_batch(8)
    _members(group, *students)
    barrier = threading.Barrier(2 * len(students))
    outcomes = []

    def run(work):
        try:
            connection.set_tenant(committed_tenant)
            connection.ensure_connection()
            barrier.wait(timeout=30)
            work()
            outcomes.append("ok")
        except AppError as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - reported below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = []
    for student in students:
        threads.append(threading.Thread(target=run, args=(lambda s=student: student_group_members_add(group_id=group.pk, user_ids=[s.pk]),)))
        threads.append(threading.Thread(target=run, args=(lambda s=student: student_archive(user_id=s.pk, withdrawn_on=dt.date(2026, 1, 31)),)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert set(outcomes) <= {"ok", "VALIDATION_ERROR"}, outcomes
    assert Student.objects.filter(pk__in=[s.pk for s in students], archived=True).count() == len(students)
    assert not GroupMembership.objects.filter(group=group).exists()
    assert ArchivedMembership.objects.filter(group=group).count() == len(students)


def test_openapi_schema_documents_the_group_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert {"get", "post"} <= set(paths["/v1/student-clusters/"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/v1/student-clusters/{cluster_id}/"])
    assert {"get", "post"} <= set(paths["/v1/student-groups/"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/v1/student-groups/{group_id}/"])
    members = paths["/v1/student-groups/{group_id}/members/"]
    assert "requestBody" in members["post"] and "requestBody" in members["delete"]
    results = paths["/v1/student-groups/{group_id}/results/"]["get"]
    assert "completion_rate = members_completed / members_in_scope" in results["description"]
    listed = {p["name"] for p in paths["/v1/student-groups/"]["get"]["parameters"]}
    assert {"page", "per_page", "student_cluster_id"} <= listed


def test_changing_members_bumps_the_groups_updated_at(admin_client):
    from students.models import StudentGroup
    from testing.factories import StudentFactory, StudentGroupFactory

    group = StudentGroupFactory()
    before = StudentGroup.objects.get(pk=group.pk).updated_at
    student = StudentFactory()
    assert admin_client.post(f"/v1/student-groups/{group.pk}/members", {"user_ids": [student.pk]}, format="json").status_code in (200, 201)
    after_add = StudentGroup.objects.get(pk=group.pk).updated_at
    assert after_add > before
    assert admin_client.delete(f"/v1/student-groups/{group.pk}/members", {"user_ids": [student.pk]}, format="json").status_code == 200
    assert StudentGroup.objects.get(pk=group.pk).updated_at > after_add
