"""The session body the case-study runtime sends (SPEC §7.4), one per PUT /v1/sessions/{id}
or per line of `manage.py import_sessions`: declared once, as pydantic models that both
validate it (attempts.ingestion.services.session_input) and are its OpenAPI schema.

Pydantic, by measurement: 10,000 bodies of 20 messages and a 5-criterion grade validate in
0.43 s, against 12.2 s with nested DRF serializers; msgspec takes 0.18 s but stops at the
first bad field, where a refusal here names every one.

Each field type below carries its check, its message and its schema together. Errors are
keyed and worded as the API's serializers key and word theirs ('grade.criteria.0.score').
"""
import datetime as dt
from typing import Annotated

from django.utils import dateparse
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent, list_hash
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError, core_schema
from rest_framework import serializers

from attempts.models import Session, TranscriptMessage
from config.ids import OPAQUE_ID, id_error
from config.openapi import FREE_TEXT_NOT_BLANK_PATTERN, FREE_TEXT_PATTERN, NOT_BLANK_PATTERN, TEXT_PATTERN
from config.query import date_range_error, normalise_text
from config.serializers import unknown_key_errors
from config.text import forbidden_character_message

MAX_MESSAGES = 2000
MAX_MESSAGE_CHARS = 50_000
MAX_CRITERIA = 100
MAX_FEEDBACK_CHARS = 50_000
MAX_CRITERION_NAME_CHARS = 200

MSG_REQUIRED = "This field is required."
MSG_NULL = "This field may not be null."
MSG_BLANK = "This field may not be blank."
MSG_CHOICE = '"{value}" is not a valid choice.'
MSG_DATETIME = "Use an ISO 8601 date-time, e.g. 2025-10-01T09:00:00Z."
MSG_NUMBER = "A valid number is required."
MSG_NUMBER_RANGE = "Must be a number from {low:g} to {high:g}."
MSG_NUMBER_MIN = "Must be a number of at least {low:g}."
MSG_STRING = "Not a valid string."
MSG_TOO_LONG = "Ensure this field has no more than {n} characters."
MSG_LIST = "Expected a list of items."
MSG_TOO_MANY = "Ensure this field has no more than {n} elements."
MSG_OBJECT = "Expected an object."
MSG_ENDED_BEFORE_STARTED = "ended_at must not be before started_at."
MSG_CRITERION_ABOVE_MAX = "score must not exceed max_score."

_REFUSED = "refused"


def _refuse(message, *, field=None):
    """Refuse a value with one of the messages above ("{value}" in it is the value refused,
    filled in by field_errors: pydantic cannot carry a lone surrogate); `field` names the
    field of a model whose rule between fields failed."""
    raise PydanticCustomError(_REFUSED, "refused", {"message": message, "field": field})


# Field types ------------------------------------------------------------------------------


def _opaque_id(value):
    if error := id_error(value):
        _refuse(error)
    return value


OpaqueId = Annotated[
    str,
    PlainValidator(_opaque_id),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 64, "pattern": f"^{OPAQUE_ID}$"}),
]


def _datetime(value):
    """An aware datetime in UTC (a naive one is read as UTC), in config.query's date range."""
    if not isinstance(value, str) or not value.isascii():
        _refuse(MSG_DATETIME)
    try:
        parsed = dateparse.parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        _refuse(MSG_DATETIME)
    if error := date_range_error(parsed):
        _refuse(error)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


DateTime = Annotated[dt.datetime, PlainValidator(_datetime), WithJsonSchema({"type": "string", "format": "date-time"})]


class _Choice:
    """In Annotated[str, _Choice(choices)]: one of a model's TextChoices, checked by pydantic
    itself (no Python call per value); the schema shows the enum the responses name."""

    def __init__(self, choices):
        self.choices = choices

    def __get_pydantic_core_schema__(self, source, handler):
        context = {"message": MSG_CHOICE, "field": None}
        return core_schema.custom_error_schema(
            core_schema.literal_schema(list(self.choices.values)), _REFUSED,
            custom_error_message="refused", custom_error_context=context,
        )

    def __get_pydantic_json_schema__(self, schema, handler):
        # The id drf-spectacular gives a ChoiceField's choices, so both share one enum component.
        enum_id = list_hash([(value, label) for value, label in self.choices.choices])
        return {"type": "string", "enum": list(self.choices.values), "x-spec-enum-id": enum_id}


def _number(low, high=None):
    """Annotated[float, *_number(...)]: a JSON number (never a boolean or a string) from `low`
    (to `high`)."""
    message = MSG_NUMBER_MIN.format(low=low) if high is None else MSG_NUMBER_RANGE.format(low=low, high=high)

    def in_range(value):
        if value < low or (high is not None and value > high):
            _refuse(message)
        return value

    bounds = {"format": "double", "minimum": low, **({} if high is None else {"maximum": high})}
    return Strict(), Field(allow_inf_nan=False, json_schema_extra=bounds), AfterValidator(in_range)


def _text(max_chars, *, free_text=False, trim=False):
    """Annotated[str, *_text(...)]: a JSON string held to config.text's rule as sent: free text (a message, feedback) may
    hold tabs and line breaks, one-line text may not. Stored in NFC; `trim`: stripped of the
    spaces around it, and then not blank. At most `max_chars` as sent (the schema's maxLength)
    and as stored. Checked here rather than by pydantic's max_length, which cannot count a
    lone surrogate."""
    too_long = MSG_TOO_LONG.format(n=max_chars)

    def check(value):
        forbidden = forbidden_character_message(value, free_text=free_text)
        kept = normalise_text(value.strip() if trim else value)
        if len(value) > max_chars or len(kept) > max_chars:
            _refuse(too_long)
        if forbidden:
            _refuse(forbidden)
        if trim and not kept:
            _refuse(MSG_BLANK)
        return kept

    if free_text:
        pattern = FREE_TEXT_NOT_BLANK_PATTERN if trim else FREE_TEXT_PATTERN
    else:
        pattern = NOT_BLANK_PATTERN if trim else TEXT_PATTERN
    schema = {"maxLength": max_chars, "pattern": pattern}
    if trim:
        schema["minLength"] = 1
    return Strict(), Field(json_schema_extra=schema), AfterValidator(check)


SessionStatus = Annotated[str, _Choice(Session.Status)]
TranscriptStatus = Annotated[str, _Choice(Session.TranscriptStatus)]
GradingStatus = Annotated[str, _Choice(Session.GradingStatus)]
Role = Annotated[str, _Choice(TranscriptMessage.Role)]
Percent = Annotated[float, *_number(0, 100)]
Points = Annotated[float, *_number(0)]
FreeText = Annotated[str, *_text(MAX_FEEDBACK_CHARS, free_text=True)]
MessageText = Annotated[str, *_text(MAX_MESSAGE_CHARS, free_text=True)]
CriterionName = Annotated[str, *_text(MAX_CRITERION_NAME_CHARS, trim=True)]


# The body ---------------------------------------------------------------------------------


class BodyModel(BaseModel):
    """A request body that refuses keys it does not declare (documented as
    additionalProperties: false)."""

    model_config = ConfigDict(extra="forbid")


# Items that repeat (messages, criteria) are slotted dataclasses: a model instance per item
# would cost about as much as checking the item.
_ITEM = {"config": ConfigDict(extra="forbid"), "slots": True, "kw_only": True}


@dataclass(**_ITEM)
class TranscriptMessageIn:
    role: Role
    content: MessageText
    timestamp: DateTime | None = None


@dataclass(**_ITEM)
class GradeCriterionIn:
    name: CriterionName
    score: Points | None = Field(description="At most max_score.")
    max_score: Points
    feedback: FreeText = ""

    @model_validator(mode="after")
    def _score_within_max_score(self):
        if self.score is not None and self.score > self.max_score:
            _refuse(MSG_CRITERION_ABOVE_MAX, field="score")
        return self


class GradeIn(BodyModel):
    max_score: Points = 100.0
    feedback: FreeText = ""
    graded_at: DateTime | None = None
    criteria: Annotated[list[GradeCriterionIn], Field(strict=True, max_length=MAX_CRITERIA)]


class SessionIngest(BodyModel):
    session_id: OpaqueId = Field(
        None, description="Required on import lines; in a PUT body it must equal the id in the URL."
    )
    user_id: OpaqueId
    case_study_id: OpaqueId
    status: SessionStatus
    started_at: DateTime
    ended_at: DateTime | None = Field(None, description="Not before started_at.")
    last_activity_at: DateTime | None = Field(None, description="Stored as the latest of started_at, ended_at and this.")
    score: Percent | None = None
    transcript_status: TranscriptStatus
    grading_status: GradingStatus
    transcript: Annotated[list[TranscriptMessageIn], Field(strict=True, max_length=MAX_MESSAGES)] | None = Field(
        None, description="When given (even empty), replaces the stored transcript; when absent or null, keeps it."
    )
    grade: GradeIn | None = Field(
        None, description="When given, replaces the stored grade report; when absent or null, keeps it."
    )

    @model_validator(mode="after")
    def _ended_not_before_started(self):
        if self.ended_at is not None and self.ended_at < self.started_at:
            _refuse(MSG_ENDED_BEFORE_STARTED, field="ended_at")
        return self


# Errors -----------------------------------------------------------------------------------

# Messages by pydantic's error type, for the checks pydantic makes itself.
_MESSAGES = {
    "missing": MSG_REQUIRED,
    "model_type": MSG_OBJECT,
    "dataclass_type": MSG_OBJECT,
    "list_type": MSG_LIST,
    "too_long": MSG_TOO_MANY,
    "float_type": MSG_NUMBER,
    "finite_number": MSG_NUMBER,
    "string_type": MSG_STRING,
}
# A key the body does not declare (a dataclass's unknown key is an unexpected argument):
# refused as config.serializers refuses one in every strict body.
_UNKNOWN_KEY_ERRORS = {"extra_forbidden", "unexpected_keyword_argument"}
_KEY_ERRORS = {"missing", *_UNKNOWN_KEY_ERRORS}


def _field(loc):
    return ".".join(map(str, loc)) or "non_field_errors"


def field_errors(exc: ValidationError):
    """{field: [message]} for every error of `exc`, fields named by their path
    ('transcript.3.content'), as a 400 names them."""
    errors = {}
    for error in exc.errors(include_url=False, include_context=True, include_input=True):
        loc, kind, context = error["loc"], error["type"], error.get("ctx") or {}
        if kind in _UNKNOWN_KEY_ERRORS:
            errors.update(unknown_key_errors([_field(loc)]))
            continue
        if kind not in _KEY_ERRORS and error["input"] is None and loc and isinstance(loc[-1], str):
            message = MSG_NULL  # a list's item, unnamed, is not an object
        elif kind == _REFUSED:
            loc = (*loc, context["field"]) if context["field"] else loc
            message = context["message"].format(value=error["input"])
        else:
            message = _MESSAGES[kind].format(n=context.get("max_length"))
        errors.setdefault(_field(loc), []).append(message)
    return errors


# The OpenAPI schema -------------------------------------------------------------------------


class BodyModelExtension(OpenApiSerializerExtension):
    """drf-spectacular reads a BodyModel (its JSON Schema, in OpenAPI 3.0's words), before
    its own pydantic extension, which documents a model as a response."""

    target_class = "attempts.ingestion.serializers.BodyModel"
    match_subclasses = True
    priority = 1

    def get_name(self, auto_schema, direction):
        return self.target.__name__

    def map_serializer(self, auto_schema, direction):
        schema = self.target.model_json_schema(ref_template="#/components/schemas/{model}Request")
        for name, component in schema.pop("$defs", {}).items():
            auto_schema.registry.register_on_missing(
                ResolvedComponent(
                    name=f"{name}Request", type=ResolvedComponent.SCHEMA, object=f"{name}Request",
                    schema=_openapi_3_0(component),
                )
            )
        return _openapi_3_0(schema)


def _openapi_3_0(schema):
    """A pydantic JSON Schema as OpenAPI 3.0 states it: `nullable` rather than a null type,
    no titles, no null defaults; required fields sorted, as drf-spectacular sorts them."""
    if isinstance(schema, list):
        return [_openapi_3_0(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _openapi_3_0(value) for key, value in schema.items() if key != "title"}
    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {
            name: {k: v for k, v in prop.items() if not (k == "default" and v is None)}
            for name, prop in schema["properties"].items()
        }
    if isinstance(schema.get("required"), list):
        schema["required"] = sorted(schema["required"])
    variants = schema.get("anyOf", [])
    if {"type": "null"} in variants and len(variants) == 2:
        (kept,) = [variant for variant in variants if variant != {"type": "null"}]
        del schema["anyOf"]
        schema = {**({"allOf": [kept]} if "$ref" in kept else kept), **schema, "nullable": True}
    return schema


class SessionIngestResultSerializer(serializers.Serializer):
    """The session as stored, and what this request did to it."""

    session_id = serializers.CharField()
    user_id = serializers.CharField(source="student_id")
    case_study_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Session.Status.choices)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField()
    score = serializers.FloatField(allow_null=True)
    transcript_status = serializers.ChoiceField(choices=Session.TranscriptStatus.choices)
    grading_status = serializers.ChoiceField(choices=Session.GradingStatus.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    result = serializers.ChoiceField(choices=["created", "updated", "unchanged"])
