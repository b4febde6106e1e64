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
