"""The data export's file: a ZIP holding `student.json` (everything, for machines: ISO 8601
dates in UTC), `summary.txt` (the same, for people) and, when there is one, the photo as
`avatar.<ext>`. Built in a spooled temporary file: in memory up to a few megabytes, then on
disk; its size is bounded by one student's data."""
import json
import os
import tempfile
import zipfile

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from attempts.models import GradeReport

FORMAT = "student-data-export/1"
MEDIA_TYPE = "application/zip"
IN_MEMORY_BYTES = 8 * 1024 * 1024
JSON_NAME = "student.json"
SUMMARY_NAME = "summary.txt"


def _report(session):
    try:
        report = session.grade_report
    except GradeReport.DoesNotExist:
        return None
    return {
        "max_score": report.max_score,
        "feedback": report.feedback,
        "graded_at": report.graded_at,
        "criteria": [
            {"name": c.name, "score": c.score, "max_score": c.max_score, "feedback": c.feedback}
            for c in report.criteria.all()
        ],
    }


def _membership(m, *, current):
    cluster = m.group.cluster
    return {
        "group_id": m.group_id, "group_name": m.group.name, "cluster": cluster.name if cluster else None,
        "current": current, "since": m.added_at if current else m.archived_at,
    }


def avatar_name(student):
    """The photo's name in the ZIP, or None when there is none."""
    if not student.avatar:
        return None
    return f"avatar{os.path.splitext(student.avatar.name)[1].lower() or '.img'}"


def export_document(data, *, tenant):
    """The export as plain JSON values (StudentData of attempts.data_rights.selectors)."""
    s = data.student
    return {
        "format": FORMAT,
        "exported_at": timezone.now(),
        "university": {"slug": tenant.slug, "name": tenant.name},
        "student": {
            "user_id": s.user_id, "first_name": s.first_name, "last_name": s.last_name, "email": s.email,
            "student_number": s.student_number, "status": s.status, "enrollment_status": s.enrollment_status,
            "archived": s.archived, "withdrawn_on": s.withdrawn_on, "graduated_on": s.graduated_on,
            "cohort": s.cohort.name if s.cohort else None,
            "advisor": {"name": s.advisor.full_name, "email": s.advisor.email} if s.advisor else None,
            "avatar": avatar_name(s), "legal_hold": s.legal_hold, "erased_at": s.erased_at,
            "last_seen": s.last_seen, "created_at": s.created_at, "updated_at": s.updated_at, "deleted_at": s.deleted_at,
        },
        "programmes": [
            {"code": e.programme.code, "name": e.programme.name, "enrolled_on": e.enrolled_on} for e in data.enrolments
        ],
        "sessions": [
            {
                "session_id": x.session_id, "case_study_id": x.case_study_id, "case_study_title": x.case_study.title,
                "status": x.status, "started_at": x.started_at, "ended_at": x.ended_at,
                "last_activity_at": x.last_activity_at, "score": x.score, "transcript_status": x.transcript_status,
                "grading_status": x.grading_status, "consumes_attempt": x.consumes_attempt,
                "transcript": [
                    {"position": m.position, "role": m.role, "content": m.content, "timestamp": m.timestamp}
                    for m in x.messages.all()
                ],
                "grade_report": _report(x),
            }
            for x in data.sessions
        ],
        "attempt_grants": [
            {
                "id": g.id, "case_study_id": g.case_study_id, "case_study_title": g.case_study.title,
                "attempts": g.delta, "reason": g.reason, "by": g.actor_email or None, "created_at": g.created_at,
            }
            for g in data.grants
        ],
        "groups": [
            *(_membership(m, current=True) for m in data.memberships),
            *(_membership(m, current=False) for m in data.archived_memberships),
        ],
        "audit_events": [
            {
                "occurred_at": e.occurred_at, "action": e.action, "target_type": e.target_type,
                "target_id": e.target_id, "by": e.actor_email or e.via, "changes": e.changes, "detail": e.detail,
            }
            for e in data.audit_events
        ],
    }


def _when(value):
    return "—" if value is None else (value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "hour") else value.isoformat())


def summary_text(document):
    """The export as people read it: the record, then each section, in plain text."""
    s = document["student"]
    lines = [
        f"Data held about {s['first_name']} {s['last_name']} by {document['university']['name']}",
        f"Exported {_when(document['exported_at'])}. The file {JSON_NAME} holds the same, complete, for machines.",
        "",
        "RECORD",
    ]
    record = [
        ("Student id", s["user_id"]), ("Email", s["email"]), ("Student number", s["student_number"] or "—"),
        ("Account status", s["status"]), ("Enrolment", s["enrollment_status"]), ("Archived", "yes" if s["archived"] else "no"),
        ("Cohort", s["cohort"] or "—"), ("Advisor", s["advisor"]["name"] if s["advisor"] else "—"),
        ("Photo", s["avatar"] or "none"), ("Legal hold", "yes" if s["legal_hold"] else "no"),
        ("Last seen", _when(s["last_seen"])), ("Record created", _when(s["created_at"])),
    ]
    lines += [f"  {label}: {value}" for label, value in record]
    lines += ["", f"PROGRAMMES ({len(document['programmes'])})"]
    lines += [f"  {p['code']} {p['name']} (enrolled {_when(p['enrolled_on'])})" for p in document["programmes"]]
    lines += ["", f"SESSIONS ({len(document['sessions'])})"]
    for x in document["sessions"]:
        score = "—" if x["score"] is None else f"{x['score']:g}"
        lines.append(
            f"  {x['case_study_title']}: started {_when(x['started_at'])}, {x['status']}, score {score}, "
            f"grading {x['grading_status']}, transcript {x['transcript_status']} ({len(x['transcript'])} messages)"
        )
        for m in x["transcript"]:
            lines.append(f"      [{m['role']}] {m['content']}")
        report = x["grade_report"]
        if report:
            lines.append(f"      Grade report: {report['feedback'] or '(no overall feedback)'}")
            for c in report["criteria"]:
                lines.append(f"        {c['name']}: {c['score']}/{c['max_score']} {c['feedback']}".rstrip())
    lines += ["", f"EXTRA ATTEMPTS GRANTED OR REVOKED ({len(document['attempt_grants'])})"]
    lines += [
        f"  {_when(g['created_at'])} {g['attempts']:+d} on {g['case_study_title']}: {g['reason']}"
        for g in document["attempt_grants"]
    ]
    lines += ["", f"GROUPS ({len(document['groups'])})"]
    lines += [f"  {g['group_name']}{'' if g['current'] else ' (before archiving)'}" for g in document["groups"]]
    lines += ["", f"AUDIT TRAIL: WHAT STAFF DID WITH THIS DATA ({len(document['audit_events'])})"]
    lines += [
        f"  {_when(e['occurred_at'])} {e['action']} by {e['by']}"
        + (f": {', '.join(sorted(e['changes']))} changed" if e["changes"] else "")
        for e in document["audit_events"]
    ]
    return "\n".join(lines) + "\n"


def export_zip(document, *, avatar=None):
    """The ZIP as an open, rewound temporary file. `avatar`: (name, bytes) or None."""
    spooled = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 - the response closes it
    with zipfile.ZipFile(spooled, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_NAME, json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        archive.writestr(SUMMARY_NAME, summary_text(document))
        if avatar is not None:
            archive.writestr(avatar[0], avatar[1])
    spooled.seek(0)
    return spooled
