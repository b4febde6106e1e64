"""Student avatars: PUT/DELETE /v1/students/{user_id}/avatar (SPEC §7.5)."""
import io
import shutil

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from students.models import Student
from students.records import services
from testing.factories import StudentFactory


@pytest.fixture(autouse=True)
def _clean_media():
    yield
    shutil.rmtree(settings.MEDIA_ROOT / "avatars", ignore_errors=True)


def image_bytes(fmt, size=(32, 32)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name, content, content_type):
    return {"avatar": SimpleUploadedFile(name, content, content_type=content_type)}


def put_avatar(client, student, name, content, content_type="application/octet-stream"):
    return client.put(f"/v1/students/{student.user_id}/avatar", upload(name, content, content_type), format="multipart")


@pytest.mark.parametrize("fmt, extension", [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_png_jpeg_and_webp_are_stored_and_served_back(admin_client, fmt, extension):
    student = StudentFactory()
    content = image_bytes(fmt)
    response = put_avatar(admin_client, student, f"me.{extension}", content, f"image/{extension}")
    assert response.status_code == 200, response.json()
    url = response.json()["data"]["avatar_url"]
    assert url.startswith("http://test.localhost/media/avatars/") and url.endswith(f".{extension}")
    student.refresh_from_db()
    assert student.avatar.name.endswith(f".{extension}")
    served = admin_client.get(url.removeprefix("http://test.localhost"))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == content


def test_stored_format_comes_from_the_image_not_the_name_or_content_type(admin_client):
    student = StudentFactory()
    response = put_avatar(admin_client, student, "photo.jpg", image_bytes("PNG"), "image/jpeg")
    assert response.status_code == 200
    assert response.json()["data"]["avatar_url"].endswith(".png")


def test_text_file_renamed_png_is_rejected(admin_client):
    student = StudentFactory()
    response = put_avatar(admin_client, student, "avatar.png", b"just some text, honestly\n" * 20, "image/png")
    assert response.status_code == 400
    assert response.json()["errors"]["avatar"] == [services.MSG_AVATAR_NOT_IMAGE]
    student.refresh_from_db()
    assert not student.avatar


def test_png_header_with_garbage_after_it_is_rejected(admin_client):
    forged = image_bytes("PNG")[:40] + b"\x00garbage" * 50
    response = put_avatar(admin_client, StudentFactory(), "avatar.png", forged, "image/png")
    assert response.status_code == 400 and "avatar" in response.json()["errors"]


def test_truncated_jpeg_is_rejected(admin_client):
    jpeg = image_bytes("JPEG", size=(256, 256))
    response = put_avatar(admin_client, StudentFactory(), "avatar.jpg", jpeg[: len(jpeg) // 2], "image/jpeg")
    assert response.status_code == 400 and "avatar" in response.json()["errors"]


def test_other_image_formats_are_rejected(admin_client):
    response = put_avatar(admin_client, StudentFactory(), "avatar.gif", image_bytes("GIF"), "image/gif")
    assert response.status_code == 400
    assert response.json()["errors"]["avatar"] == [services.MSG_AVATAR_NOT_IMAGE]


@pytest.mark.parametrize("total", [services.AVATAR_MAX_BYTES + 1, 10 * 1024 * 1024])
def test_image_over_2_mb_is_rejected(admin_client, total):
    # A valid PNG with trailing bytes: the size limit applies before any decoding.
    png = image_bytes("PNG")
    content = png + b"\x00" * (total - len(png))
    response = put_avatar(admin_client, StudentFactory(), "big.png", content, "image/png")
    assert response.status_code == 400
    assert response.json()["errors"]["avatar"] == [services.MSG_AVATAR_TOO_LARGE]


def test_missing_avatar_field_is_400(admin_client):
    student = StudentFactory()
    response = admin_client.put(
        f"/v1/students/{student.user_id}/avatar",
        {"picture": SimpleUploadedFile("a.png", image_bytes("PNG"), content_type="image/png")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["avatar"] == [services.MSG_AVATAR_MISSING]


def test_json_body_is_refused_as_unsupported_media_type(admin_client):
    student = StudentFactory()
    response = admin_client.put(f"/v1/students/{student.user_id}/avatar", {"avatar": "x"}, format="json")
    assert response.status_code == 415
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_replacing_an_avatar_removes_the_old_file(admin_client, django_capture_on_commit_callbacks):
    student = StudentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        put_avatar(admin_client, student, "a.png", image_bytes("PNG"), "image/png")
    first = Student.objects.get(pk=student.pk).avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        put_avatar(admin_client, student, "b.webp", image_bytes("WEBP"), "image/webp")
    second = Student.objects.get(pk=student.pk).avatar.name
    assert first != second
    assert not default_storage.exists(first) and default_storage.exists(second)


def test_delete_avatar_clears_it_and_the_file(admin_client, django_capture_on_commit_callbacks):
    student = StudentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        put_avatar(admin_client, student, "a.png", image_bytes("PNG"), "image/png")
    name = Student.objects.get(pk=student.pk).avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(f"/v1/students/{student.user_id}/avatar/")
    assert response.status_code == 200
    assert response.json()["data"]["avatar_url"] is None
    assert not Student.objects.get(pk=student.pk).avatar
    assert not default_storage.exists(name)


def test_avatar_upload_bumps_updated_at(admin_client):
    student = StudentFactory()
    before = Student.objects.get(pk=student.pk).updated_at
    put_avatar(admin_client, student, "a.png", image_bytes("PNG"), "image/png")
    assert Student.objects.get(pk=student.pk).updated_at > before


def test_avatar_upload_is_401_without_credentials(anon_client):
    student = StudentFactory()
    assert put_avatar(anon_client, student, "a.png", image_bytes("PNG"), "image/png").status_code == 401


def test_avatar_upload_is_403_for_a_viewer(viewer_client):
    student = StudentFactory()
    assert put_avatar(viewer_client, student, "a.png", image_bytes("PNG"), "image/png").status_code == 403
    student.refresh_from_db()
    assert not student.avatar


def test_avatar_upload_on_another_tenant_is_404(other_tenant_client):
    student = StudentFactory()
    assert put_avatar(other_tenant_client, student, "a.png", image_bytes("PNG"), "image/png").status_code == 404
    student.refresh_from_db()
    assert not student.avatar


def test_avatar_of_unknown_student_is_404(admin_client):
    class Ghost:
        user_id = "ghost"

    assert put_avatar(admin_client, Ghost, "a.png", image_bytes("PNG"), "image/png").status_code == 404


def test_an_avatar_is_not_served_on_another_tenants_host(admin_client, other_tenant_client):
    student = StudentFactory()
    url = put_avatar(admin_client, student, "me.png", image_bytes("PNG"), "image/png").json()["data"]["avatar_url"]
    path = url.removeprefix("http://test.localhost")
    assert admin_client.get(path).status_code == 200
    assert other_tenant_client.get(path).status_code == 404
    assert admin_client.get("/media/avatars/../secret_key").status_code == 404


def test_an_avatar_is_served_only_to_signed_in_staff_and_never_cached_publicly(admin_client, anon_client, host, viewer_user):
    from testing.clients import TenantAPIClient

    student = StudentFactory()
    url = put_avatar(admin_client, student, "me.png", image_bytes("PNG"), "image/png").json()["data"]["avatar_url"]
    path = url.removeprefix("http://test.localhost")
    assert anon_client.get(path).status_code == 401
    console = TenantAPIClient(host)
    console.force_login(viewer_user)
    response = console.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
