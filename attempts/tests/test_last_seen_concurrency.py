"""last_seen (attempts.maintained) stays the latest activity when two reports for one student
commit at once: the later activity's transaction is still open when the earlier one refreshes,
so the refresh must wait for it and read its session, not the maximum it saw before waiting.
Real commits on two connections (`committed_tenant`)."""
import datetime as dt
import threading
import time

from django.db import connection, transaction

from attempts.ingestion.services import session_input, sessions_ingest
from students.models import Student
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


def _report(student, case_study, minutes):
    at = (NOW + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "user_id": student.pk, "case_study_id": case_study.pk, "status": "in_progress", "started_at": at,
        "last_activity_at": at, "transcript_status": "processing", "grading_status": "pending",
    }


def test_two_reports_committed_together_leave_the_latest_activity(committed_tenant):
    mba = ProgrammeFactory(code="MBA1234")
    student = StudentFactory(programmes=[mba])
    case_study = CaseStudyFactory(programmes=[mba])
    written = threading.Event()
    errors = []

    def later_activity():  # written first, committed a second after its refresh
        try:
            connection.set_tenant(committed_tenant)
            with transaction.atomic():
                sessions_ingest(items=[session_input(data=_report(student, case_study, 10), session_id="later")])
                written.set()
                time.sleep(1)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    def earlier_activity():  # reported meanwhile
        try:
            connection.set_tenant(committed_tenant)
            written.wait(timeout=30)
            sessions_ingest(items=[session_input(data=_report(student, case_study, 5), session_id="earlier")])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=later_activity), threading.Thread(target=earlier_activity)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Student.objects.get(pk=student.pk).last_seen == NOW + dt.timedelta(minutes=10)
