"""OpenAPI error responses every operation shares (the SPEC §6 envelope)."""
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from config.serializers import ErrorEnvelopeSerializer


def error_response(description, *, code=None, message=None, status=400):
    """An error response in the envelope, with an example when `code` and `message` are given."""
    examples = []
    if code is not None:
        examples = [
            OpenApiExample(
                code,
                value={"success": False, "data": None, "message": message, "code": code, "errors": None},
                status_codes=[str(status)],
            )
        ]
    return OpenApiResponse(ErrorEnvelopeSerializer, description=description, examples=examples)


BAD_INPUT = error_response("Bad input (VALIDATION_ERROR); `errors` names each field.")
UNAUTHENTICATED = error_response("No or invalid credentials (UNAUTHENTICATED).")
FORBIDDEN = error_response("Missing permission (PERMISSION_DENIED).")


def error_responses(*, not_found=None, conflict=None, bad_input=BAD_INPUT):
    """{status: response} for an operation: 400, 401, 403, plus 404 and 409 when described."""
    responses = {400: bad_input, 401: UNAUTHENTICATED, 403: FORBIDDEN}
    if not_found:
        responses[404] = error_response(not_found) if isinstance(not_found, str) else not_found
    if conflict:
        responses[409] = error_response(conflict) if isinstance(conflict, str) else conflict
    return responses


# Statuses any operation may answer, whatever its own declarations: bad input, credentials,
# permission, an id that names nothing, the method, and a database outage.
_SHARED_ERRORS = {
    "400": "Bad input (VALIDATION_ERROR); `errors` names each field.",
    "401": "No or invalid credentials (UNAUTHENTICATED).",
    "403": "Missing permission (PERMISSION_DENIED).",
    "405": "The method is not allowed here (METHOD_NOT_ALLOWED).",
    "503": "The database cannot be reached (SERVICE_UNAVAILABLE); retry after `Retry-After` seconds.",
}
_PATH_ERRORS = {"404": "Nothing with this id on this tenant (NOT_FOUND)."}


def document_shared_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the envelope for every
    status it can answer (SPEC §6), so a client and a fuzzer can trust the schema."""
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    for path, operations in result.get("paths", {}).items():
        shared = {**_SHARED_ERRORS, **(_PATH_ERRORS if "{" in path else {})}
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in shared.items():
                operation["responses"].setdefault(status, {"content": envelope, "description": description})
    return result
