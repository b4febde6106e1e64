"""Attempts (SPEC §7.2, ATTEMPTS.can_manage) and student performance (SPEC §7.3,
STUDENT_PERFORMANCE.can_view) on the console API. Thin views: the rules, the look-ups and
the card numbers come from attempts.grants.services; reads from attempts.grants.selectors and
attempts.performance.selectors.

Choices made where the contract is silent:
- Grant and revoke both answer 201 Created: each appends one row to the ledger.
- Unknown or deleted `user_id` / `case_study_id` in a request body -> 400 naming the field
  (the body refers to something that must exist); an unknown session in the path -> 404.
- The ledger list filters (`user_id`, `case_study_id`) are both optional; without them it
  is the tenant's whole audit trail, newest first. An unknown id there is just a filter
  that matches nothing (empty page); a malformed one is a 400.
- The attempt detail uses flat keys (user_id, student_name, case_study_id,
  case_study_title), as the seed's cards do.
"""
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.views import APIView

from accounts.permissions import ATTEMPTS_MANAGE, STUDENT_PERFORMANCE_VIEW, HasPermission
from attempts.grants import services
from attempts.grants.selectors import attempt_grant_list
from attempts.performance import selectors
from attempts.performance.services import attempt_transcript_open
from config.api import ok, paged, skip_limit_page, validated
from config.errors import AppError
from config.ids import check_id
from config.openapi import error_responses
from console.attempts.serializers import (
    AttemptChangeEnvelope,
    AttemptChangeRequestSerializer,
    AttemptDetailEnvelope,
    AttemptDetailSerializer,
    AttemptGrantSerializer,
    BulkGrantEnvelope,
    BulkGrantRequestSerializer,
    GradeEnvelope,
    GradeSerializer,
    LedgerPageEnvelope,
    LedgerQuerySerializer,
    TranscriptEnvelope,
    TranscriptSerializer,
)

TAG_ATTEMPTS = "Attempts"
TAG_PERFORMANCE = "Student performance"

_ERRORS = error_responses()
_NOT_FOUND = error_responses(not_found="No such session on this tenant.")
_CONFLICT = error_responses(
    conflict="Asked to revoke more than the student's current extra attempts; nothing changed."
)

_GRANT_EXAMPLE = OpenApiExample(
    "Grant one attempt",
    request_only=True,
    value={
        "user_id": "6650a1b2c3d4e5f6a7b8c9d0",
        "case_study_id": "6650c3d4e5f6a7b8c9d0e1f2",
        "attempts": 1,
        "reason": "Power cut during the session",
    },
)
_CHANGE_RESPONSE_EXAMPLE = OpenApiExample(
    "Ledger row and new card numbers",
    response_only=True,
    status_codes=["201"],
    value={
        "success": True,
        "data": {
            "grant": {
                "id": "6650e5f6a7b8c9d0e1f2a3b4",
                "user_id": "6650a1b2c3d4e5f6a7b8c9d0",
                "case_study_id": "6650c3d4e5f6a7b8c9d0e1f2",
                "delta": 1,
                "reason": "Power cut during the session",
                "actor": {"email": "ops@uni.example", "full_name": "Ngozi Adébáyọ̀"},
                "created_at": "2026-06-04T09:00:00Z",
            },
            "extra_attempts": 1,
            "attempts_used": 2,
            "attempts_allowed": 3,
        },
        "message": None,
    },
)
_CONFLICT_EXAMPLE = OpenApiExample(
    "Revoking more than there are",
    response_only=True,
    status_codes=["409"],
    value={
        "success": False,
        "data": None,
        "message": services.MSG_REVOKE_TOO_MANY.format(requested=2, extra=1),
        "code": "CONFLICT",
        "errors": {"attempts": [services.MSG_REVOKE_TOO_MANY.format(requested=2, extra=1)]},
    },
)


def _change_result(change):
    card = change.card
    return {
        "grant": AttemptGrantSerializer(change.grant).data,
        "extra_attempts": card.extra_attempts,
        "attempts_used": card.attempts_used,
        "attempts_allowed": card.attempts_allowed,
    }


class _AttemptChangeApi(APIView):
    permission_classes = [HasPermission.of(ATTEMPTS_MANAGE)]
    service = None

    def post(self, request):
        body = validated(AttemptChangeRequestSerializer, request.data)
        change = type(self).service(actor=request.user, **body)
        return ok(_change_result(change), status=201)


class AttemptGrantApi(_AttemptChangeApi):
    service = services.attempts_grant

    @extend_schema(
        tags=[TAG_ATTEMPTS],
        summary="Grant extra attempts",
        description=(
            "Adds a ledger row and answers with it and the card's new numbers. The case study must be "
            "assigned to the student (an active case study sharing a programme) or already attempted; "
            "archived students cannot be granted attempts."
        ),
        request=AttemptChangeRequestSerializer,
        examples=[_GRANT_EXAMPLE, _CHANGE_RESPONSE_EXAMPLE],
        responses={201: AttemptChangeEnvelope, **_ERRORS},
    )
    def post(self, request):
        return super().post(request)


class AttemptRevokeApi(_AttemptChangeApi):
    service = services.attempts_revoke

    @extend_schema(
        tags=[TAG_ATTEMPTS],
        summary="Revoke extra attempts",
        description=(
            "Adds a negative ledger row (201) and answers with it and the card's new numbers. "
            "Asking for more than the current extra attempts is a 409 and changes nothing."
        ),
        request=AttemptChangeRequestSerializer,
        examples=[_GRANT_EXAMPLE, _CHANGE_RESPONSE_EXAMPLE, _CONFLICT_EXAMPLE],
        responses={201: AttemptChangeEnvelope, **_CONFLICT},
    )
    def post(self, request):
        return super().post(request)


class AttemptGrantBulkApi(APIView):
    permission_classes = [HasPermission.of(ATTEMPTS_MANAGE)]

    @extend_schema(
        tags=[TAG_ATTEMPTS],
        summary="Grant extra attempts to many students",
        description=(
            "All or nothing: if any id is malformed, unknown, archived or not eligible, nothing is "
            "granted and `errors` names each one under `user_ids[<index>]`. Repeated ids count once."
        ),
        request=BulkGrantRequestSerializer,
        examples=[
            OpenApiExample(
                "Grant two students one attempt",
                request_only=True,
                value={
                    "user_ids": ["6650a1b2c3d4e5f6a7b8c9d0", "6650a1b2c3d4e5f6a7b8c9d1"],
                    "case_study_id": "6650c3d4e5f6a7b8c9d0e1f2",
                    "attempts": 1,
                    "reason": "Platform outage on 3 June",
                },
            ),
            OpenApiExample(
                "Per-student results",
                response_only=True,
                status_codes=["201"],
                value={
                    "success": True,
                    "data": [
                        {
                            "user_id": "6650a1b2c3d4e5f6a7b8c9d0",
                            "grant_id": "6650e5f6a7b8c9d0e1f2a3b4",
                            "extra_attempts": 1,
                            "attempts_used": 2,
                            "attempts_allowed": 3,
                        }
                    ],
                    "message": None,
                },
            ),
        ],
        responses={201: BulkGrantEnvelope, **_ERRORS},
    )
    def post(self, request):
        body = validated(BulkGrantRequestSerializer, request.data)
        return ok(_bulk_results(services.attempts_grant_bulk(actor=request.user, **body)), status=201)


class AttemptRevokeBulkApi(APIView):
    permission_classes = [HasPermission.of(ATTEMPTS_MANAGE)]

    @extend_schema(
        tags=[TAG_ATTEMPTS],
        summary="Revoke extra attempts from many students",
        description=(
            "The bulk grant's body and answer, with negative ledger rows. All or nothing: if any id is "
            "malformed, unknown or deleted, or its student has fewer extra attempts on the case study than "
            "asked for, nothing is revoked and `errors` names each one under `user_ids[<index>]`. Archived "
            "students may be revoked from (to correct a mistake). Each student gets an audit event."
        ),
        request=BulkGrantRequestSerializer,
        responses={201: BulkGrantEnvelope, **_ERRORS},
    )
    def post(self, request):
        body = validated(BulkGrantRequestSerializer, request.data)
        return ok(_bulk_results(services.attempts_revoke_bulk(actor=request.user, **body)), status=201)


def _bulk_results(changed):
    return [
        {
            "user_id": g.grant.student_id,
            "grant_id": g.grant.pk,
            "extra_attempts": g.extra_attempts,
            "attempts_used": g.attempts_used,
            "attempts_allowed": g.attempts_allowed,
        }
        for g in changed
    ]


class AttemptGrantListApi(APIView):
    permission_classes = [HasPermission.of(ATTEMPTS_MANAGE)]

    @extend_schema(
        tags=[TAG_ATTEMPTS],
        summary="The grant ledger",
        description=(
            "Every grant and revoke, newest first. Both filters are optional; without them, the "
            "tenant's whole ledger. Paged with skip/limit like the console student list."
        ),
        parameters=[LedgerQuerySerializer],
        responses={200: LedgerPageEnvelope, **_ERRORS},
    )
    def get(self, request):
        params = validated(LedgerQuerySerializer, request.query_params)
        grants = attempt_grant_list(user_id=params.get("user_id"), case_study_id=params.get("case_study_id"))
        rows, paging = skip_limit_page(grants, skip=params["skip"], limit=params["limit"])
        return paged(AttemptGrantSerializer(rows, many=True).data, **paging)


# Student performance ----------------------------------------------------------------------

_SESSION_PARAM = OpenApiParameter("session_id", str, OpenApiParameter.PATH, description="From an attempt card.")


def _session_or_404(session_id):
    check_id(session_id, field="session_id")
    session = selectors.performance_session_get(session_id=session_id)
    if session is None:
        raise AppError.not_found()
    return session


class _PerformanceApi(APIView):
    permission_classes = [HasPermission.of(STUDENT_PERFORMANCE_VIEW)]


class AttemptDetailApi(_PerformanceApi):
    @extend_schema(
        tags=[TAG_PERFORMANCE],
        summary="One attempt",
        description="The attempt-card entry plus its student, case study and duration.",
        parameters=[_SESSION_PARAM],
        responses={200: AttemptDetailEnvelope, **_NOT_FOUND},
    )
    def get(self, request, session_id):
        session = _session_or_404(session_id)
        detail = selectors.attempt_detail(session=session)
        data = {
            "session_id": session.pk,
            "attempt_label": detail.attempt_label,
            "score": session.score,
            "status": session.status,
            "transcript_status": session.transcript_status,
            "grading_status": session.grading_status,
            "used_for_final_score": detail.used_for_final_score,
            "started_at": session.started_at,
            "ended_at": session.ended_at,
            "last_activity_at": session.last_activity_at,
            "duration_seconds": detail.duration_seconds,
            "user_id": session.student_id,
            "student_name": session.student.student_name,
            "case_study_id": session.case_study_id,
            "case_study_title": session.case_study.title,
        }
        return ok(AttemptDetailSerializer(data).data)


class AttemptTranscriptApi(_PerformanceApi):
    @extend_schema(
        tags=[TAG_PERFORMANCE],
        summary="An attempt's transcript",
        description=(
            "Messages in conversation order. `available`: all messages; `partial`: the messages that "
            "exist; `processing`, `missing`, `failed`: none, and `detail` says why."
        ),
        parameters=[_SESSION_PARAM],
        responses={200: TranscriptEnvelope, **_NOT_FOUND},
    )
    def get(self, request, session_id):
        session = _session_or_404(session_id)
        transcript = attempt_transcript_open(session=session)
        data = {
            "session_id": session.pk,
            "transcript_status": session.transcript_status,
            "detail": transcript.detail,
            "messages": transcript.messages,
        }
        return ok(TranscriptSerializer(data).data)


class AttemptGradeApi(_PerformanceApi):
    @extend_schema(
        tags=[TAG_PERFORMANCE],
        summary="An attempt's grade report",
        description=(
            "Criteria in order, overall feedback and graded_at when grading is complete; while pending or "
            "after a failure, no criteria, null feedback and graded_at, and the score as stored."
        ),
        parameters=[_SESSION_PARAM],
        responses={200: GradeEnvelope, **_NOT_FOUND},
    )
    def get(self, request, session_id):
        session = _session_or_404(session_id)
        grade = selectors.attempt_grade(session=session)
        data = {
            "session_id": session.pk,
            "grading_status": session.grading_status,
            "detail": grade.detail,
            "score": session.score,
            "max_score": grade.max_score,
            "criteria": grade.criteria,
            "feedback": grade.feedback,
            "graded_at": grade.graded_at,
        }
        return ok(GradeSerializer(data).data)
