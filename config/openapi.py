"""OpenAPI error responses every operation shares (the SPEC §6 envelope)."""
import copy

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from config.ids import PATH_PARAMETER_PATTERNS
from config.query import DATE_RANGE_PATTERN, MAX_QUERY_STRING_BYTES
from config.serializers import ErrorEnvelopeSerializer, FreeTextField, SecretField
from config.text import FREE_TEXT_FORBIDDEN, ONE_LINE_FORBIDDEN


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
    "400": (
        "Bad input (VALIDATION_ERROR); `errors` names each field (`query` for a query string over "
        f"{MAX_QUERY_STRING_BYTES:,} bytes as sent)."
    ),
    "401": "No or invalid credentials (UNAUTHENTICATED).",
    "403": "Missing permission (PERMISSION_DENIED).",
    "405": "The method is not allowed here (METHOD_NOT_ALLOWED).",
    "503": "The database cannot be reached (SERVICE_UNAVAILABLE); retry after `Retry-After` seconds.",
}
_PATH_ERRORS = {"404": "Nothing with this id on this tenant (NOT_FOUND)."}
_BODY_ERRORS = {"415": "The body is not in the media type documented here (VALIDATION_ERROR)."}
# Any write may meet another at the same moment; PostgreSQL then undoes it (config.errors).
_WRITE_ERRORS = {
    "409": "Another change to the same records was made at the same moment (CONFLICT): nothing changed; try again."
}
_WRITE_METHODS = {"post", "put", "patch", "delete"}


def document_shared_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the envelope for every
    status it can answer (SPEC §6) and its query parameters as they are read, so a client and
    a fuzzer can trust the schema."""
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    components = result.get("components", {}).get("schemas", {})
    request_components: set[str] = set()  # names of the components a request body refers to
    for path, operations in result.get("paths", {}).items():
        shared = {**_SHARED_ERRORS, **(_PATH_ERRORS if "{" in path else {})}
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _document_query_parameter(parameter)
                elif parameter.get("in") == "path" and parameter.get("name") in PATH_PARAMETER_PATTERNS:
                    parameter["schema"] = {"type": "string", "pattern": f"^{PATH_PARAMETER_PATTERNS[parameter['name']]}$"}
            _require_one_of_bodies(operation, result)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                _document_dates(content.get("schema", {}), components, request_components)
            errors = {
                **shared,
                **(_BODY_ERRORS if "requestBody" in operation else {}),
                **(_WRITE_ERRORS if method in _WRITE_METHODS else {}),
            }
            for status, description in errors.items():
                operation["responses"].setdefault(status, {"content": envelope, "description": description})
    return result


def _document_dates(schema, components, seen):
    """Every date and date-time a request carries states config.query's range (the year it
    starts with), through the components a body refers to."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in components:
            seen.add(name)
            # A copy: a component may be built from a dict the code shares (extend_schema_field).
            components[name] = copy.deepcopy(components[name])
            _document_dates(components[name], components, seen)
        return
    if schema.get("type") == "string" and schema.get("format") in ("date", "date-time"):
        schema.setdefault("pattern", DATE_RANGE_PATTERN)
    for key in ("properties", "patternProperties"):
        for value in schema.get(key, {}).values():
            _document_dates(value, components, seen)
    for key in ("items", "additionalProperties", "not"):
        _document_dates(schema.get(key), components, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for value in schema.get(key, []):
            _document_dates(value, components, seen)


# Text in a query string is NUL-free: PostgreSQL cannot store U+0000, so DRF refuses it in
# every text field.
NUL_FREE_PATTERN = r"^[^\x00]*$"
# Text in a body holds no control character, free text none but tabs and line breaks (config.text).
TEXT_PATTERN = rf"^[^{ONE_LINE_FORBIDDEN}]*$"
FREE_TEXT_PATTERN = rf"^[^{FREE_TEXT_FORBIDDEN}]*$"
# Text that may not be blank also holds a character other than the whitespace DRF trims
# (exactly Python's str.isspace() set, so the schema and the server agree to the character).
_SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = rf"^[^{ONE_LINE_FORBIDDEN}]*[^{ONE_LINE_FORBIDDEN}{_SPACE}][^{ONE_LINE_FORBIDDEN}]*$"
FREE_TEXT_NOT_BLANK_PATTERN = rf"^[^{FREE_TEXT_FORBIDDEN}]*[^{FREE_TEXT_FORBIDDEN}{_SPACE}][^{FREE_TEXT_FORBIDDEN}]*$"
MSG_EMPTY_IS_ABSENT = "An empty value is the same as leaving the parameter out."


class _ServiceCheckedFreeText(FreeTextField):
    def run_validation(self, data=serializers.empty):
        if data == "":
            return data  # blank: the service's refusal, not DRF's
        return super().run_validation(data)


def service_checked_free_text(*, max_length, **kwargs):
    """A free-text body field (a reason) whose rules, not blank and at most `max_length`
    characters, a service checks with its own messages, so the API and the console refuse it
    alike; the schema states both. Kept as sent (the service strips it)."""
    schema = {"type": "string", "pattern": FREE_TEXT_NOT_BLANK_PATTERN, "maxLength": max_length}
    field_class = extend_schema_field(schema)(type(f"ServiceCheckedFreeText{max_length}", (_ServiceCheckedFreeText,), {}))
    return field_class(trim_whitespace=False, **kwargs)


def _body_text_pattern(*, not_blank, free_text, secret):
    if secret:
        return NUL_FREE_PATTERN  # a password may hold any character PostgreSQL can
    if free_text:
        return FREE_TEXT_NOT_BLANK_PATTERN if not_blank else FREE_TEXT_PATTERN
    return NOT_BLANK_PATTERN if not_blank else TEXT_PATTERN


def _document_text(schema, pattern):
    """Give a plain text schema (no pattern, format or enum of its own), or the items of a list
    of text, the pattern the server holds it to."""
    if schema.get("type") == "string" and not {"pattern", "format", "enum"} & schema.keys():
        schema["pattern"] = pattern
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _document_text(schema["items"], pattern)


def _text_field(field):
    return field.child if isinstance(field, serializers.ListField) else field


def _trims_to_not_blank(field):
    field = _text_field(field)
    return isinstance(field, serializers.CharField) and not field.allow_blank and field.trim_whitespace


class StrictSerializerExtension(OpenApiSerializerExtension):
    """A request body read by a StrictSerializer refuses keys it does not declare and text with
    a control character (config.text) or only spaces, where it may not be blank; its schema
    says so. `exactly_one_of` on the serializer becomes a oneOf: exactly one of those fields
    given, and not null."""

    target_class = "config.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if "__doc__" not in vars(type(self.target)) or not type(self.target).__doc__:
            schema.pop("description", None)  # not this base class's docstring
        if direction != "request":
            return schema
        schema["additionalProperties"] = False
        fields = self.target.fields
        for name, field_schema in schema.get("properties", {}).items():
            field = fields.get(name)
            pattern = _body_text_pattern(
                not_blank=field is not None and _trims_to_not_blank(field),
                free_text=isinstance(_text_field(field), FreeTextField),
                secret=isinstance(field, SecretField),
            )
            _document_text(field_schema, pattern)
        one_of = getattr(self.target, "exactly_one_of", None)
        if one_of:
            schema["oneOf"] = [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in one_of]
        return schema


def _require_one_of_bodies(operation, result):
    """A body that must give one of several fields (a oneOf) cannot be left out."""
    for content in operation.get("requestBody", {}).get("content", {}).values():
        ref = content.get("schema", {}).get("$ref", "")
        component = result.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
        if "oneOf" in component:
            operation["requestBody"]["required"] = True


def _document_query_parameter(parameter):
    """Query strings as the APIs read them: an empty value is absent (a boolean excepted: it is
    true or false), and text is NUL-free."""
    # A copy: a parameter's schema may be a dict the code shares (config.serializers).
    schema = parameter["schema"] = copy.deepcopy(parameter.get("schema", {}))
    _document_dates(schema, {}, set())
    if schema.get("type") == "integer" or (schema.get("type") == "string" and "format" in schema):
        schema = parameter["schema"] = {"anyOf": [schema]}
    if "anyOf" in schema:
        schema["anyOf"] = [*schema["anyOf"], {"type": "string", "maxLength": 0}]
    elif schema.get("type") == "string":
        schema.pop("minLength", None)
        if "enum" in schema and "" not in schema["enum"]:
            schema["enum"] = [*schema["enum"], ""]
        pattern = schema.get("pattern")
        if pattern and pattern.startswith("^") and pattern.endswith("$"):
            schema["pattern"] = f"^(?:{pattern[1:-1]})?$"
        _document_text(schema, NUL_FREE_PATTERN)
    else:
        return
    description = parameter.get("description", "")
    if MSG_EMPTY_IS_ABSENT not in description:
        parameter["description"] = f"{description}\n\n{MSG_EMPTY_IS_ABSENT}".strip()
