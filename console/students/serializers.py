"""Request and response shapes of the console students API (seed console-students-api.txt).

Field names, order and defaults follow the seed exactly. The list's filters (search,
programme, status, dates, sort) are declared once, by students.listing.filters, which
validates and documents them; the query serializers here validate and document paging,
`format` and `include_case_studies`.
"""
import datetime as dt

from rest_framework import serializers

from config.serializers import InputSerializer, QueryBooleanField, skip_limit_query

LIMIT_DEFAULT = 10
LIMIT_MAX = 100
EXPORT_FORMATS = ("csv", "xlsx")

MSG_BAD_USER_ID = "Not a valid user_id: 1-64 characters of letters, digits, '_', '.', ':' or '-'."
MSG_BAD_FORMAT = "Choose csv or xlsx."


def _utc_datetime(**kwargs):
    # Always UTC with a Z, whatever time zone is active (SPEC §6).
    return serializers.DateTimeField(default_timezone=dt.timezone.utc, **kwargs)


_UTC_DATETIME = _utc_datetime()  # unbound: its to_representation reads nothing of a request


def _utc_text(moment):
    """A date-time as the fields of _utc_datetime give it, or None."""
    return None if moment is None else _UTC_DATETIME.to_representation(moment)


# Requests ---------------------------------------------------------------------------------


StudentPageQuerySerializer = skip_limit_query(
    limit_default=LIMIT_DEFAULT,
    limit_max=LIMIT_MAX,
    skip_help="Number of records to skip.",
    limit_help="Max records to return (1-100).",
)


class FileFormatField(serializers.ChoiceField):
    """A file of the list's format, csv (the default) or xlsx, read case-insensitively (`XLSX`
    means xlsx), like the list's enumerations."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=EXPORT_FORMATS, default="csv", error_messages={"invalid_choice": MSG_BAD_FORMAT}, **kwargs
        )

    def to_internal_value(self, data):
        return super().to_internal_value(data.strip().lower() if isinstance(data, str) else data)


class StudentExportFormatSerializer(serializers.Serializer):
    format = FileFormatField(help_text="Export format: csv or xlsx.")


class StudentDetailQuerySerializer(InputSerializer):
    include_case_studies = QueryBooleanField(
        default=True,
        help_text="When false, omits the case_study_details array for a lighter header-only response.",
    )


# Responses --------------------------------------------------------------------------------


class ConsoleProgrammeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ConsoleStudentRowSerializer(serializers.Serializer):
    """One row of the list: a Student from students.listing.selectors.student_list_page."""

    user_id = serializers.CharField()
    student_name = serializers.CharField()
    student_email = serializers.CharField(source="email")
    programmes = ConsoleProgrammeSerializer(many=True, source="programme_rows")
    programme_label = serializers.CharField()
    overall_case_studies = serializers.IntegerField()
    status = serializers.CharField()
    last_seen = _utc_datetime(allow_null=True)

    def to_representation(self, student):
        """What the fields above give, built directly: DRF's per-field machinery was a fifth of
        the list's time in Python (a test holds the two equal)."""
        return {
            "user_id": str(student.user_id),
            "student_name": str(student.student_name),
            "student_email": str(student.email),
            "programmes": [{"code": str(p["code"]), "name": str(p["name"])} for p in student.programme_rows],
            "programme_label": str(student.programme_label),
            "overall_case_studies": int(student.overall_case_studies),
            "status": str(student.status),
            "last_seen": _utc_text(student.last_seen),
        }


class ConsoleAttemptSerializer(serializers.Serializer):
    """An attempts.selectors.Attempt."""

    session_id = serializers.CharField(source="session.session_id")
    attempt_label = serializers.CharField(source="label")
    score = serializers.FloatField(source="session.score", allow_null=True)
    status = serializers.CharField(source="session.status")
    transcript_status = serializers.CharField(source="session.transcript_status")
    grading_status = serializers.CharField(source="session.grading_status")
    used_for_final_score = serializers.BooleanField()
    started_at = _utc_datetime(source="session.started_at")
    ended_at = _utc_datetime(source="session.ended_at", allow_null=True)

    def to_representation(self, attempt):
        """What the fields above give, built directly: a busy student has hundreds of attempts,
        and DRF's per-field machinery would double the detail's time (a test holds the two
        equal). The timestamps come as text from the session's row (attempts.selectors.UtcText)."""
        return _attempt_data(attempt)


def _attempt_data(attempt):
    session = attempt.session
    return {
        "session_id": session.session_id,
        "attempt_label": attempt.label,
        "score": None if session.score is None else float(session.score),
        "status": session.status,
        "transcript_status": session.transcript_status,
        "grading_status": session.grading_status,
        "used_for_final_score": bool(attempt.used_for_final_score),
        "started_at": session.started_at_text,
        "ended_at": session.ended_at_text,
    }


class ConsoleCaseStudyCardSerializer(serializers.Serializer):
    """An attempts.selectors.CaseStudyCard."""

    case_study_id = serializers.CharField(source="case_study.case_study_id")
    case_study_title = serializers.CharField(source="case_study.title")
    programme_codes = serializers.ListField(child=serializers.CharField())
    programme_label = serializers.CharField()
    attempts_used = serializers.IntegerField()
    attempts_allowed = serializers.IntegerField()
    extra_attempts = serializers.IntegerField()
    best_score = serializers.FloatField(allow_null=True)
    attempts = ConsoleAttemptSerializer(many=True, help_text="Newest attempt first.")

    def to_representation(self, card):
        """What the fields above give, built directly, as for the attempts (a test holds the
        two equal): a busy student has dozens of cards."""
        return _card_data(card)


def _card_data(card):
    case_study = card.case_study
    best = card.best_score
    return {
        "case_study_id": case_study.case_study_id,
        "case_study_title": case_study.title,
        "programme_codes": list(card.programme_codes),
        "programme_label": card.programme_label,
        "attempts_used": card.attempts_used,
        "attempts_allowed": card.attempts_allowed,
        "extra_attempts": card.extra_attempts,
        "best_score": None if best is None else float(best),
        "attempts": [_attempt_data(attempt) for attempt in card.attempts],
    }


class ConsoleStudentHeaderSerializer(serializers.Serializer):
    """A console.students.selectors.StudentDetail without its cards (include_case_studies=false)."""

    user_id = serializers.CharField(source="student.user_id")
    student_number = serializers.CharField(help_text="The SIS number when set, else the user_id.")
    student_name = serializers.CharField(source="student.student_name")
    student_email = serializers.CharField(source="student.email")
    programmes = ConsoleProgrammeSerializer(many=True, source="student.programme_rows")
    programme_label = serializers.CharField(source="student.programme_label")
    cohort = serializers.CharField(allow_null=True, help_text="The cohort's name, or null.")
    status = serializers.CharField(source="student.status")
    last_seen = _utc_datetime(source="student.last_seen", allow_null=True)
    overall_case_studies = serializers.IntegerField(source="student.overall_case_studies")
    case_studies_attempted = serializers.IntegerField()
    total_attempts = serializers.IntegerField()
    total_sessions = serializers.IntegerField()
    created_at = _utc_datetime(source="student.created_at")

    def to_representation(self, detail):
        """What the fields above give, built directly, as for the list's rows (a test holds the
        two equal): DRF would first deep-copy every field of the header, the cards and the
        attempts, for each request."""
        student = detail.student
        cohort = detail.cohort
        return {
            "user_id": str(student.user_id),
            "student_number": str(detail.student_number),
            "student_name": str(student.student_name),
            "student_email": str(student.email),
            "programmes": [{"code": str(p["code"]), "name": str(p["name"])} for p in student.programme_rows],
            "programme_label": str(student.programme_label),
            "cohort": None if cohort is None else str(cohort),
            "status": str(student.status),
            "last_seen": _utc_text(student.last_seen),
            "overall_case_studies": int(student.overall_case_studies),
            "case_studies_attempted": int(detail.case_studies_attempted),
            "total_attempts": int(detail.total_attempts),
            "total_sessions": int(detail.total_sessions),
            "created_at": _utc_text(student.created_at),
        }


class ConsoleStudentDetailSerializer(ConsoleStudentHeaderSerializer):
    case_study_details = ConsoleCaseStudyCardSerializer(
        many=True,
        source="cards",
        required=False,  # in the schema: absent when include_case_studies=false
        help_text="One card per attempted case study, most recently started first. "
        "Omitted when include_case_studies=false.",
    )

    def to_representation(self, detail):
        data = super().to_representation(detail)
        data["case_study_details"] = None if detail.cards is None else [_card_data(card) for card in detail.cards]
        return data


# Envelopes (schema only) ----------------------------------------------------------------


class ConsoleStudentPageSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    data = ConsoleStudentRowSerializer(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    message = serializers.CharField(allow_null=True)


class ConsoleStudentDetailEnvelopeSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    data = ConsoleStudentDetailSerializer()
    message = serializers.CharField(allow_null=True)


# The seed's examples, served in the OpenAPI schema ---------------------------------------

SEED_LIST_EXAMPLE = {
    "success": True,
    "data": [
        {
            "user_id": "6650a1b2c3d4e5f6a7b8c9d0",
            "student_name": "Abdulwahab Umar",
            "student_email": "abdulwahabumar@miva.university",
            "programmes": [{"code": "MBA1234", "name": "Masters in Business Administration"}],
            "programme_label": "Masters in Business Administration",
            "overall_case_studies": 10,
            "status": "active",
            "last_seen": "2026-06-04T09:00:00Z",
        }
    ],
    "total": 137,
    "page": 1,
    "page_size": 10,
    "total_pages": 14,
    "message": None,
}

SEED_DETAIL_EXAMPLE = {
    "success": True,
    "data": {
        "user_id": "6650a1b2c3d4e5f6a7b8c9d0",
        "student_number": "6650a1b2c3d4e5f6a7b8c9d0",
        "student_name": "Abdulwahab Umar",
        "student_email": "abdulwahabumar@miva.university",
        "programmes": [{"code": "MBA1234", "name": "Masters in Business Administration"}],
        "programme_label": "Masters in Business Administration",
        "cohort": None,
        "status": "active",
        "last_seen": "2026-06-04T09:00:00Z",
        "overall_case_studies": 10,
        "case_studies_attempted": 2,
        "total_attempts": 2,
        "total_sessions": 4,
        "created_at": "2026-01-15T08:00:00Z",
        "case_study_details": [
            {
                "case_study_id": "6650c3d4e5f6a7b8c9d0e1f2",
                "case_study_title": "Fuel Subsidy removal in Nigeria: Economic impact and social impact",
                "programme_codes": ["MBA1234"],
                "programme_label": "Masters in Business Administration",
                "attempts_used": 1,
                "attempts_allowed": 2,
                "extra_attempts": 0,
                "best_score": 75.0,
                "attempts": [
                    {
                        "session_id": "6650d4e5f6a7b8c9d0e1f2a3",
                        "attempt_label": "Attempt 2",
                        "score": 75.0,
                        "status": "ended",
                        "transcript_status": "available",
                        "grading_status": "complete",
                        "used_for_final_score": True,
                        "started_at": "2025-04-03T15:00:00Z",
                        "ended_at": "2025-04-03T15:09:00Z",
                    },
                    {
                        "session_id": "6650d3e4f5a6b7c8d9e0f1a2",
                        "attempt_label": "Attempt 1",
                        "score": None,
                        "status": "ended",
                        "transcript_status": "missing",
                        "grading_status": "pending",
                        "used_for_final_score": False,
                        "started_at": "2025-04-03T15:00:00Z",
                        "ended_at": "2025-04-03T15:05:00Z",
                    },
                ],
            }
        ],
    },
    "message": None,
}
