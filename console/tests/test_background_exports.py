"""Background exports: POST /v1/console/exports, GET …/{id}, GET …/{id}/file, the worker's
lifecycle (queued, running, done, failed, expired, stale-lock recovery) and the console pages."""
import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from procrastinate.contrib.django import app

from accounts.models import AuditEvent
from catalogue.models import CaseStudy
from console.exports import apis, services
from console.exports.models import ExportJob
from console.exports.selectors import MSG_EXPORT_NOT_FOUND
from console.list_files.kinds import FILE_KINDS
from testing.factories import (
    HOSTILE_NAME,
    CaseStudyFactory,
    ProgrammeFactory,
    SessionFactory,
    StaffUserFactory,
    StudentFactory,
    StudentGroupFactory,
)
from testing.jobs import queued_jobs, run_jobs

URL = "/v1/console/exports"
SYNC_URL = "/v1/console/students/export"
GRADEBOOK_URL = "/v1/console/reports/gradebook"
NOW = dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.timezone.utc)
WORKER = "test-worker"


def _job(**fields):
    from procrastinate import jobs

    return jobs.Job(id=1, queue="default", lock=None, queueing_lock=None, task_name=services.RUN_TASK, **fields)


@pytest.fixture
def students():
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    case = CaseStudyFactory(title="Market entry", programmes=[mba])
    people = [
        StudentFactory(first_name="Chidinma", last_name="Okafọr", email="chidinma@miva.university", programmes=[mba]),
        StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@miva.university", programmes=[mba]),
        StudentFactory(first_name=HOSTILE_NAME, last_name="Evil", email="evil@miva.university"),
    ]
    SessionFactory(student=people[0], case_study=case, started_at=NOW, score=80, grading_status="complete")
    return people


def _queue(client, **body):
    response = client.post(URL, body, format="json")
    assert response.status_code == 202, response.content
    return response


def _run_all():
    return run_jobs(services.RUN_TASK)


def _download(client, job_id):
    response = client.get(f"{URL}/{job_id}/file")
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    return b"".join(response.streaming_content)


def _csv(raw):
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


# Queue, state, file ---------------------------------------------------------------------


def test_post_queues_a_job_and_answers_202_with_its_id(operator_client, operator_user, students):
    response = _queue(operator_client, kind="list", format="csv", programme="MBA1234")
    data = response.json()["data"]
    assert response["Location"] == f"{URL}/{data['id']}"
    assert data["state"] == "queued" and data["progress"] == 0 and data["download_url"] is None
    job = ExportJob.objects.get(pk=data["id"])
    assert (job.requested_by, job.kind, job.file_format, job.tenant_schema) == (operator_user, "list", "csv", "test")
    assert job.params == {"programme": ["MBA1234"]}
    event = AuditEvent.objects.get(action="exports.queue", target_id=job.pk)
    assert event.detail["filters"] == {"programme": ["MBA1234"]}
    assert operator_client.get(f"{URL}/{job.pk}").json()["data"]["state"] == "queued"


def test_a_done_list_export_holds_what_the_synchronous_export_gives(operator_client, students):
    job_id = _queue(operator_client, kind="list", format="csv", sort_by="name", sort_order="asc").json()["data"]["id"]
    assert _run_all() == 1
    data = operator_client.get(f"{URL}/{job_id}").json()["data"]
    assert data["state"] == "done" and data["progress"] == 1 and data["rows_done"] == data["rows_total"] == 3
    assert data["download_url"] == f"{URL}/{job_id}/file" and data["file_name"].startswith("students_test_")
    expires = dt.datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - timezone.now()) - dt.timedelta(hours=24)) < dt.timedelta(minutes=1)
    background = _csv(_download(operator_client, job_id))
    synchronous = _csv(b"".join(operator_client.get(SYNC_URL, {"sort_by": "name", "sort_order": "asc"}).streaming_content))
    assert background == synchronous
    assert "'" + HOSTILE_NAME + " Evil" in [row[0] for row in background]
    assert AuditEvent.objects.filter(action="exports.download", target_id=job_id).count() == 1


@pytest.mark.parametrize("per_programme, sheets", [
    (True, ["MBA1234 Masters in Business Adm", "No programme"]),
    (False, ["Gradebook"]),  # its rows formatted by the statement: COPY, or a server-side cursor here
])
def test_a_gradebook_export_in_xlsx_holds_what_the_gradebook_download_gives(operator_client, students, per_programme,
                                                                              sheets):
    job_id = _queue(operator_client, kind="gradebook", format="xlsx", sheet_per_programme=per_programme).json()["data"]["id"]
    _run_all()
    background = openpyxl.load_workbook(io.BytesIO(_download(operator_client, job_id)))
    response = operator_client.get(GRADEBOOK_URL, {"format": "xlsx", "sheet_per_programme": str(per_programme).lower()})
    synchronous = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert background.sheetnames == synchronous.sheetnames == sheets
    for name in background.sheetnames:
        assert list(background[name].values) == list(synchronous[name].values)
        assert len(list(background[name].values)) > 1


def test_a_gradebook_export_in_csv_has_the_bytes_of_the_gradebook_download(operator_client, students):
    # The download streams COPY's output; the background export writes the same statement's
    # cells from a server-side cursor.
    job_id = _queue(operator_client, kind="gradebook", format="csv", sort_by="name", sort_order="asc").json()["data"]["id"]
    _run_all()
    background = _download(operator_client, job_id)
    response = operator_client.get(GRADEBOOK_URL, {"format": "csv", "sort_by": "name", "sort_order": "asc"})
    assert background == b"".join(response.streaming_content)
    assert "'" + HOSTILE_NAME + " Evil" in [row[0] for row in _csv(background)]


def test_progress_is_recorded_while_running_and_a_stopping_worker_puts_the_job_back(operator_client, students, monkeypatch):
    monkeypatch.setattr(services, "PROGRESS_EVERY", 1)
    job_id = _queue(operator_client, kind="list", format="csv").json()["data"]["id"]
    job = services.export_job_start(job_id, worker=WORKER)
    seen = []

    def stopping():
        seen.append(operator_client.get(f"{URL}/{job_id}").json()["data"])
        return len(seen) >= 2

    with pytest.raises(services.ExportStopped):  # the queue runs it again
        services.export_job_run(job, worker=WORKER, stopping=stopping)
    assert seen[0]["state"] == "running" and seen[0]["rows_total"] == 3 and seen[0]["rows_done"] == 0
    assert seen[1]["rows_done"] == 1 and 0 < seen[1]["progress"] < 1
    job.refresh_from_db()
    assert (job.state, job.claimed_by, job.rows_done, job.tries) == ("queued", "", 0, 0)
    assert _run_all() == 1  # and another run finishes it
    assert ExportJob.objects.get(pk=job_id).state == "done"


def test_a_worker_told_to_stop_puts_the_job_back_and_the_queue_retries_it(operator_client, students, monkeypatch):
    monkeypatch.setattr(services, "PROGRESS_EVERY", 1)
    job_id = _queue(operator_client, kind="list", format="csv").json()["data"]["id"]
    with pytest.raises(services.ExportStopped):
        run_jobs(services.RUN_TASK, should_abort=lambda: True)
    assert ExportJob.objects.get(pk=job_id).state == "queued"
    task = app.tasks[services.RUN_TASK]
    decision = task.retry_strategy.get_retry_decision(exception=services.ExportStopped(job_id), job=_job(attempts=0))
    assert decision is not None  # retried, after a short backoff


def test_a_job_whose_worker_died_is_taken_over_by_its_next_run(operator_client, students):
    job_id = _queue(operator_client, kind="list", format="csv").json()["data"]["id"]
    claimed = services.export_job_start(job_id, worker="dead-worker")
    assert claimed.pk == job_id and claimed.state == "running"
    # Its worker is killed here; the queue runs the job again (tenants.tasks.retry_stalled_jobs),
    # and that run takes the row over and finishes it; the dead one's late writes are refused.
    again = services.export_job_start(job_id, worker=WORKER)
    assert again.pk == job_id and again.tries == 2
    with pytest.raises(services._Lost):
        services._beat(claimed, "dead-worker", 5)
    services.export_job_run(again, worker=WORKER)
    assert ExportJob.objects.get(pk=job_id).state == "done"


def test_a_job_that_keeps_killing_its_worker_fails_after_max_tries(operator_client, students):
    job_id = _queue(operator_client, kind="list", format="csv").json()["data"]["id"]
    ExportJob.objects.filter(pk=job_id).update(
        state="running", tries=services.MAX_TRIES, heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert services.export_job_start(job_id, worker=WORKER) is None
    data = operator_client.get(f"{URL}/{job_id}").json()["data"]
    assert data["state"] == "failed" and data["error"] == services.MSG_GAVE_UP
    assert services.export_job_start(job_id, worker=WORKER) is None  # and stays failed


def test_a_failing_job_is_failed_with_a_message_and_has_no_file(operator_client, students, monkeypatch):
    job_id = _queue(operator_client, kind="list", format="xlsx").json()["data"]["id"]

    def broken(file_request, rows, target):
        raise OSError("disk full")

    monkeypatch.setattr(FILE_KINDS["list"], "write_xlsx", broken)
    _run_all()
    data = operator_client.get(f"{URL}/{job_id}").json()["data"]
    assert data["state"] == "failed" and data["error"] == services.MSG_EXPORT_FAILED and data["download_url"] is None
    response = operator_client.get(f"{URL}/{job_id}/file")
    assert response.status_code == 409 and response.json()["message"] == apis.MSG_FAILED_HAS_NO_FILE


def test_a_queued_job_cannot_be_downloaded_yet(operator_client, students):
    job_id = _queue(operator_client, kind="list").json()["data"]["id"]
    response = operator_client.get(f"{URL}/{job_id}/file")
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT" and response.json()["message"] == apis.MSG_NOT_READY


def test_expired_files_are_deleted_and_their_jobs_marked_expired(operator_client, students, settings):
    job_id = _queue(operator_client, kind="list").json()["data"]["id"]
    _run_all()
    job = ExportJob.objects.get(pk=job_id)
    assert default_storage.exists(job.file_name)
    assert services.export_jobs_prune(now=job.expires_at - dt.timedelta(seconds=1)) == 0
    assert services.export_jobs_prune(now=job.expires_at) == 1
    assert not default_storage.exists(job.file_name)
    data = operator_client.get(f"{URL}/{job_id}").json()["data"]
    assert data["state"] == "expired" and data["download_url"] is None
    response = operator_client.get(f"{URL}/{job_id}/file")
    assert response.status_code == 404 and response.json()["message"] == apis.MSG_EXPIRED


def test_file_hours_come_from_the_setting(operator_client, students, settings):
    settings.EXPORT_FILE_HOURS = 2
    job_id = _queue(operator_client, kind="list").json()["data"]["id"]
    _run_all()
    job = ExportJob.objects.get(pk=job_id)
    assert abs(job.expires_at - job.finished_at - dt.timedelta(hours=2)) < dt.timedelta(seconds=5)


def test_prune_command_expires_in_every_tenant(operator_client, students):
    from django.core.management import call_command

    job_id = _queue(operator_client, kind="list").json()["data"]["id"]
    _run_all()
    ExportJob.objects.filter(pk=job_id).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    out = io.StringIO()
    call_command("prune_exports", stdout=out)
    assert "test: 1 export expired" in out.getvalue()
    assert ExportJob.objects.get(pk=job_id).state == "expired"


def test_queuing_defers_one_job_in_the_same_transaction_and_a_done_one_schedules_its_expiry(operator_client, students):
    job_id = _queue(operator_client, kind="gradebook", format="csv").json()["data"]["id"]
    [(_, name, args, _)] = queued_jobs(services.RUN_TASK)
    assert args == {"schema": "test", "job_id": job_id}
    assert _run_all() == 1
    job = ExportJob.objects.get(pk=job_id)
    assert job.state == "done"
    [(_, name, args, scheduled_at)] = queued_jobs(services.EXPIRE_TASK)
    assert args == {"schema": "test", "job_id": job_id} and scheduled_at == job.expires_at
    run_jobs(services.EXPIRE_TASK)  # (run early here: it deletes only what has expired)
    assert ExportJob.objects.get(pk=job_id).state == "done"
    ExportJob.objects.filter(pk=job_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    app.configure_task(services.EXPIRE_TASK).defer(schema="test", job_id=job_id)
    run_jobs(services.EXPIRE_TASK)
    assert ExportJob.objects.get(pk=job_id).state == "expired"


def test_a_failed_queue_write_leaves_no_job(operator_client, students, monkeypatch):
    real_defer = services.defer

    def defer_then_fail(*args, **kwargs):
        assert real_defer(*args, **kwargs) is not None
        raise RuntimeError("after the job was written")

    monkeypatch.setattr(services, "defer", defer_then_fail)
    assert operator_client.post(URL, {"kind": "list"}, format="json").status_code == 500
    assert not ExportJob.objects.exists() and queued_jobs(services.RUN_TASK) == []


# Who may -------------------------------------------------------------------------------


def test_another_staff_members_job_is_not_found_and_its_file_refused(operator_client, api_as, students):
    job_id = _queue(operator_client, kind="list").json()["data"]["id"]
    _run_all()
    colleague = api_as(StaffUserFactory(roles=["operator"]))
    for path in (f"{URL}/{job_id}", f"{URL}/{job_id}/file"):
        response = colleague.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND" and response.json()["message"] == MSG_EXPORT_NOT_FOUND
    assert not AuditEvent.objects.filter(action="exports.download").exists()


def test_without_the_export_permission_every_endpoint_is_403_and_without_credentials_401(
    viewer_client, anon_client, operator_client, students
):
    job_id = _queue(operator_client, kind="list").json()["data"]["id"]
    for client, status in ((viewer_client, 403), (anon_client, 401)):
        assert client.post(URL, {"kind": "list"}, format="json").status_code == status
        assert client.get(f"{URL}/{job_id}").status_code == status
        assert client.get(f"{URL}/{job_id}/file").status_code == status
    assert ExportJob.objects.count() == 1


def test_a_job_of_another_tenant_is_not_found(other_tenant_client, operator_client, students):
    job_id = _queue(operator_client, kind="list").json()["data"]["id"]
    assert other_tenant_client.get(f"{URL}/{job_id}").status_code == 404


# Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "pdf"}, "kind"),
        ({"format": "ods"}, "format"),
        ({"sort_by": "grade"}, "sort_by"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"status": "sleeping"}, "status"),
        ({"kind": "gradebook", "case_study": ["aaaaaaaaaaaaaaaaaaaaaaaa"]}, "case_study"),
        ({"sheet_per_programme": "yes"}, "sheet_per_programme"),
        ({"owner": 3}, "owner"),
        ({"search": 3}, "search"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_queues_nothing(operator_client, students, body, field):
    response = operator_client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert any(name.split(".")[0] == field for name in response.json()["errors"]), response.json()["errors"]
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("job_id", ["not an id!", "a" * 80])
def test_a_malformed_id_is_400_naming_it_and_an_unknown_one_404(operator_client, job_id):
    for path in (f"{URL}/{job_id}", f"{URL}/{job_id}/file"):
        response = operator_client.get(path)
        assert response.status_code == 400 and "job_id" in response.json()["errors"]
    assert operator_client.get(f"{URL}/aaaaaaaaaaaaaaaaaaaaaaaa").status_code == 404


def test_the_synchronous_cap_message_points_to_the_background_export(operator_client, students, settings):
    settings.EXPORT_MAX_ROWS = 2
    body = operator_client.get(SYNC_URL).json()
    assert body["code"] == "EXPORT_LIMIT_EXCEEDED" and "POST /v1/console/exports" in body["message"]


# Console pages --------------------------------------------------------------------------


def test_an_over_cap_list_offers_the_background_export_instead_of_the_downloads(console_as, operator_user, students, settings):
    settings.EXPORT_MAX_ROWS = 2
    page = console_as(operator_user).get("/students/?programme=MBA1234&search=")
    html = page.content.decode()
    assert 'data-export="csv"' in html  # 2 students: within the cap
    page = console_as(operator_user).get("/students/")
    html = page.content.decode()
    assert "Export in the background" in html and 'data-background="list-csv"' in html
    assert 'data-export="csv"' not in html


def test_a_list_under_the_cap_also_offers_the_background_export_with_its_filters(console_as, operator_user, students):
    html = console_as(operator_user).get("/students/?programme=MBA1234").content.decode()
    assert 'data-export="csv"' in html  # the downloads
    assert ">Export in the background</h2>" in html
    assert 'data-background="list-csv"' in html and 'data-background="gradebook-xlsx"' in html
    assert '<input type="hidden" name="programme" value="MBA1234">' in html


def test_the_exports_page_starts_an_export_of_every_student(console_as, operator_user, students):
    client = console_as(operator_user)
    html = client.get("/exports/").content.decode()
    assert "Start an export" in html and 'data-background="list-xlsx"' in html
    assert "Start one from the students list" not in html
    response = client.post("/exports/", {"kind": "list", "format": "xlsx"})
    job = ExportJob.objects.get()
    assert response["Location"] == f"/exports/{job.pk}/" and job.params == {}


def test_a_groups_page_exports_its_members_in_the_background(console_as, operator_user, viewer_user, students):
    from students.models import GroupMembership

    group = StudentGroupFactory()
    GroupMembership.objects.create(group=group, student=students[1])
    client = console_as(operator_user)
    html = client.get(f"/groups/{group.pk}/").content.decode()
    assert "<summary>Export in the background</summary>" in html
    assert 'data-background="list-csv"' in html and 'data-background="gradebook-xlsx"' in html
    assert f'<input type="hidden" name="group" value="{group.pk}">' in html
    response = client.post("/exports/", {"kind": "list", "format": "csv", "group": group.pk})
    job = ExportJob.objects.get()
    assert response["Location"] == f"/exports/{job.pk}/" and job.params == {"group": [group.pk]}
    _run_all()
    rows = _csv(b"".join(client.get(f"/v1/console/exports/{job.pk}/file").streaming_content))
    assert [row[1] for row in rows[1:]] == ["zoe@miva.university"]  # the members alone
    # Staff who may not export are not offered it.
    assert "Export in the background" not in console_as(viewer_user).get(f"/groups/{group.pk}/").content.decode()


def test_a_case_studys_pages_export_its_gradebook_in_the_background(console_as, operator_user, students):
    case_study = CaseStudy.objects.get(title="Market entry")
    client = console_as(operator_user)
    html = client.get(f"/case-studies/{case_study.pk}/").content.decode()
    assert "<summary>Export in the background</summary>" in html
    assert 'data-background="gradebook-csv"' in html and 'data-background="list-csv"' not in html
    assert f'<input type="hidden" name="case_study" value="{case_study.pk}">' in html
    client.post("/exports/", {"kind": "gradebook", "format": "csv", "case_study": case_study.pk})
    job = ExportJob.objects.get()
    assert job.kind == "gradebook" and job.params == {"case_study": [case_study.pk]}
    _run_all()
    header = _csv(b"".join(client.get(f"/v1/console/exports/{job.pk}/file").streaming_content))[0]
    assert any("Market entry" in cell for cell in header)


def test_the_console_queues_a_job_shows_its_progress_and_then_the_download(console_as, operator_user, students):
    client = console_as(operator_user)
    response = client.post("/exports/", {"kind": "gradebook", "format": "csv", "programme": "MBA1234"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{job.pk}/"
    assert job.params == {"programme": ["MBA1234"]} and job.kind == "gradebook"
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert f'data-poll-url="/v1/console/exports/{job.pk}"' in page and "Waiting for a worker" in page
    _run_all()
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "data-poll-url" not in page and f'href="/v1/console/exports/{job.pk}/file"' in page
    assert _csv(b"".join(client.get(f"/v1/console/exports/{job.pk}/file").streaming_content))[0][0] == "Student Name"
    assert job.pk in client.get("/exports/").content.decode()


def test_the_console_refuses_bad_filters_with_a_message(console_as, operator_user, students):
    response = console_as(operator_user).post("/exports/", {"kind": "list", "format": "csv", "start_date": "yesterday"}, follow=True)
    assert "could not be queued" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_another_staff_members_export_page_is_not_found_and_viewers_are_refused(
    console_as, operator_user, viewer_user, students
):
    console_as(operator_user).post("/exports/", {"kind": "list", "format": "csv"})
    job = ExportJob.objects.get()
    colleague = console_as(StaffUserFactory(roles=["operator"]))
    assert colleague.get(f"/exports/{job.pk}/").status_code == 404
    assert console_as(viewer_user).get(f"/exports/{job.pk}/").status_code == 403
    assert console_as(viewer_user).post("/exports/", {"kind": "list", "format": "csv"}).status_code == 403
    assert console_as(None).get("/exports/").status_code == 302


def test_a_background_export_keeps_the_consoles_own_sort(console_as, operator_user, students):
    response = console_as(operator_user).post(
        "/exports/", {"kind": "list", "format": "csv", "sort_by": "case_studies", "sort_order": "asc", "status": "active"}
    )
    assert response.status_code == 302
    assert ExportJob.objects.get().params == {"status": ["active"], "sort_by": ["case_studies"], "sort_order": ["asc"]}
