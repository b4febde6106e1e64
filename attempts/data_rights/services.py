"""Students' data rights: the export (a read, but audited) and the erasure.

Erasure keeps what the university's figures are made of and removes what says who the student
was (README "Students' data rights"):
- the record: names, email and student number become a pseudonym (students.records.services
  .erased_pseudonym), the photo is deleted; user_id, status, enrolment, programmes, cohort,
  advisor and groups stay, so lists, group results and dashboards count the student as before;
- sessions keep their times, statuses and scores; transcript messages keep their role, position
  and time, their text is emptied; grade reports keep criteria names and scores, their feedback
  is emptied;
- the grant ledger keeps each grant's attempts, who and when; its reason is erased;
- earlier audit events and change-feed events of the student keep what was done, by whom and
  when; the values they recorded of the erased fields become "[erased]".
One transaction: all of it, or (a refusal, an error) none of it.
"""
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from accounts.audit.services import audit_events_erase_values, audit_record
from accounts.events.services import ERASED
from attempts.data_rights.archive import avatar_name, export_document, export_zip
from attempts.data_rights.selectors import student_data_get
from attempts.grants.services import MAX_REASON_LENGTH
from attempts.models import AttemptGrant, GradeCriterion, GradeReport, TranscriptMessage
from config.text import reason_checked
from students.records.services import ERASED_FIELDS, erased_pseudonym, student_record_erase

MSG_ERASE_REASON_REQUIRED = "Give the reason for the erasure (for example the student's request and its date)."
MSG_ERASE_REASON_TOO_LONG = f"Keep the erasure's reason to at most {MAX_REASON_LENGTH} characters."

# The values erased from the audit trail and the change feed: the record's personal fields and
# grants' reasons (free text staff wrote about the student).
ERASED_EVENT_VALUES = (*ERASED_FIELDS, "reason")


@dataclass
class DataExport:
    file_name: str
    file: object  # an open, rewound binary file (the ZIP)
    size: int


def _avatar(student):
    """(name in the ZIP, bytes) of the student's photo, or None: none, or its file is gone from
    the storage (the export still answers, without it)."""
    name = avatar_name(student)
    if name is None:
        return None
    try:
        with student.avatar.open("rb") as photo:
            return name, photo.read()
    except OSError:
        return None


def student_data_export(*, user_id, tenant):
    """The student's data as a ZIP (attempts.data_rights.archive), audited as
    `student.data_export`. 404 for an unknown or deleted student, 400 for a malformed id."""
    with transaction.atomic():
        data = student_data_get(user_id=user_id)
        document = export_document(data, tenant=tenant)
        avatar = _avatar(data.student)
        if avatar is None:
            document["student"]["avatar"] = None
        audit_record(
            action="student.data_export", target_type="student", target_id=data.student.pk,
            detail={
                "sessions": len(data.sessions), "attempt_grants": len(data.grants),
                "audit_events": len(data.audit_events), "avatar": avatar is not None,
            },
        )
    spooled = export_zip(document, avatar=avatar)
    size = spooled.seek(0, 2)
    spooled.seek(0)
    day = document["exported_at"].astimezone(tenant.tzinfo).date().isoformat()
    return DataExport(file_name=f"student_data_{tenant.slug}_{data.student.pk}_{day}.zip", file=spooled, size=size)


def erase_reason_check(reason):
    """The reason stripped; the rules of a grant's reason (required, not blank, at most
    MAX_REASON_LENGTH characters), with this feature's messages, under `reason`."""
    return reason_checked(
        reason, max_length=MAX_REASON_LENGTH, required=MSG_ERASE_REASON_REQUIRED, too_long=MSG_ERASE_REASON_TOO_LONG
    )


@dataclass
class Erasure:
    student: object  # the record as erased
    transcript_messages: int
    grade_texts: int
    grant_reasons: int
    audit_events: int
    feed_events: int


def _erase_texts(student_id):
    """Empty the texts of the student's transcripts and grade reports, erase their grants'
    reasons. Returns (messages, reports and criteria, grants) changed: one UPDATE each."""
    messages = TranscriptMessage.objects.filter(session__student_id=student_id).exclude(content="").update(content="")
    reports = GradeReport.objects.filter(session__student_id=student_id).exclude(feedback="").update(feedback="")
    criteria = (
        GradeCriterion.objects.filter(report__session__student_id=student_id).exclude(feedback="").update(feedback="")
    )
    grants = AttemptGrant.objects.filter(student_id=student_id).exclude(reason=ERASED).update(reason=ERASED)
    return messages, reports + criteria, grants


@transaction.atomic
def student_erase(*, user_id, reason):
    """Erase the student's personal data (the module's docstring says what goes and what stays),
    audited as `student.erase` with the reason and what was erased, never the values: an
    Erasure. 409 LEGAL_HOLD under a legal hold, 409 ALREADY_ERASED the second time, 404 for
    an unknown or deleted student, 400 for a malformed id or a missing reason; nothing changes."""
    reason = erase_reason_check(reason)
    student = student_record_erase(user_id=user_id)
    messages, grade_texts, grants = _erase_texts(student.pk)
    audit_events, feed_events = audit_events_erase_values(
        target_type="student", target_id=student.pk, fields=ERASED_EVENT_VALUES, student_id=student.pk
    )
    pseudonym = erased_pseudonym(student.pk)
    audit_record(
        action="student.erase", target_type="student", target_id=student.pk,
        detail={
            # As every time the API answers: ISO 8601 in UTC with a Z (the feed's event carries it).
            "reason": reason, "erased_at": DjangoJSONEncoder().default(student.erased_at), "pseudonym": pseudonym,
            "fields": list(ERASED_FIELDS), "transcript_messages": messages, "grade_texts": grade_texts,
            "grant_reasons": grants, "audit_events": audit_events, "feed_events": feed_events,
        },
    )
    return Erasure(
        student=student, transcript_messages=messages, grade_texts=grade_texts, grant_reasons=grants,
        audit_events=audit_events, feed_events=feed_events,
    )
