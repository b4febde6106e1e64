"""GET /v1/staff: the staff users an advisor is chosen from, for admins only."""
from testing.factories import StaffUserFactory


def test_admins_list_active_staff_with_minimal_fields(admin_client, admin_user, operator_user):
    StaffUserFactory(full_name="Gone Away", email="gone@uni.example", is_active=False)
    response = admin_client.get("/v1/staff")
    assert response.status_code == 200
    rows = response.json()["data"]
    assert [row["email"] for row in rows] == [admin_user.email, operator_user.email]
    assert rows[0] == {"id": admin_user.pk, "name": "Ada Admin", "email": admin_user.email, "roles": ["admin"]}
    assert response.json()["total"] == 2


def test_staff_list_is_refused_to_roles_that_cannot_edit_students(operator_client, viewer_client, anon_client):
    assert operator_client.get("/v1/staff").status_code == 403
    assert viewer_client.get("/v1/staff").status_code == 403
    assert anon_client.get("/v1/staff").status_code == 401


def test_bad_paging_is_400(admin_client):
    assert admin_client.get("/v1/staff", {"per_page": "0"}).status_code == 400
    assert admin_client.get("/v1/staff", {"page": "x\x00"}).status_code == 400


def test_staff_list_query_count_is_flat(admin_client, django_assert_num_queries):
    for _ in range(5):
        StaffUserFactory(roles=["viewer"])
    admin_client.get("/v1/staff")
    # The Bearer token with its user and roles, count, page, roles of the page.
    with django_assert_num_queries(4):
        admin_client.get("/v1/staff")
