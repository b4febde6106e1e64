"""Serializer pieces every API shares: strict bodies, opaque ids, free text, finite numbers,
query-string booleans, paging parameters, and the envelope shapes for the OpenAPI schema."""
import copy
import math
from collections.abc import Mapping
from typing import Any

from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from config.bulk import MAX_BULK_IDS
from config.ids import ID_VALIDATOR, OPAQUE_ID
from config.query import MSG_BOOLEAN_TRUE_FALSE, date_range_error, normalise_text, parse_boolean, shallow_copy
from config.text import forbidden_character_message

MSG_NOT_WRITABLE = "This field cannot be set through this endpoint."
MSG_NOT_FINITE = "A finite number is required."
MSG_NOT_A_NUMBER = "A number is required."
MSG_NOT_TEXT = "Not a valid string."
MSG_ASCII_DIGITS = "Use the digits 0-9."
MSG_NOT_BOOLEAN = "Must be true or false."

# Paging limits shared by every list: a page number or offset past these is a 400, never a
# query PostgreSQL cannot run.
PAGE_MAX = 1_000_000
SKIP_MAX = 1_000_000_000


class OpaqueIdField(serializers.CharField):
    """An id in the shape config.ids accepts (our 24-hex ids and other systems' ids)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)
        # A validator rather than a check in to_internal_value: the schema shows its pattern.
        self.validators.append(ID_VALIDATOR)


@extend_schema_field({"type": "string", "pattern": rf"^{OPAQUE_ID}$"})
class UncheckedOpaqueIdField(serializers.CharField):
    """An id whose shape a service checks, to name each bad one in its own way; the schema
    still shows the shape it must have."""


class FreeTextField(serializers.CharField):
    """Text that may run over several lines (a reason, a transcript, feedback): tabs and line
    breaks are allowed in it, other control characters are not (config.text)."""


class SecretField(serializers.CharField):
    """A password as typed: compared, never stored or shown, so any character may be in it."""


_NUMBER_FIELDS = (serializers.IntegerField, serializers.FloatField, serializers.DecimalField)
_DIGIT_FIELDS = (*_NUMBER_FIELDS, serializers.DateTimeField, serializers.DateField)


def _too_long(field, text):
    """DRF's max_length message when the text as sent is longer than the field's maxLength:
    the schema's limit counts what the client sends, before trimming and NFC."""
    if field.max_length is not None and len(text) > field.max_length:
        return field.error_messages["max_length"].format(max_length=field.max_length)
    return None


def _forbidden_character(field, text):
    """config.text's refusal of the text as sent (what the schema's pattern reads, before
    trimming): one-line text holds no control character, free text only tabs and line breaks."""
    return forbidden_character_message(text, free_text=isinstance(field, FreeTextField))


def _out_of_range(field, text):
    """config.query's date range, on the date or date-time as written (before its offset)."""
    parse = parse_datetime if isinstance(field, serializers.DateTimeField) else parse_date
    try:
        parsed = parse(text.strip())
    except ValueError:
        return None  # DRF names the bad date itself
    return date_range_error(parsed) if parsed is not None else None


def clean_value(field, value, *, from_json=True):
    """(value, error) for one input value before DRF reads it: text must be a string (never a
    number or boolean) and is NFC-normalised; in a JSON body (text a client writes) it holds
    no control character but where config.text allows; numbers and dates are written in ASCII
    digits (Python's int() and Django's date regexes would read "１０" as 10), and dates lie in
    config.query's range; a JSON boolean is true or false, never 0, 1 or a string, and a JSON
    number is a number, never a string. The error is a message, or {index: [message]} naming
    the items of a list."""
    if value is None:
        return value, None
    if from_json and isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return value, MSG_NOT_BOOLEAN
    if isinstance(field, serializers.CharField):
        if not isinstance(value, str):
            return value, MSG_NOT_TEXT
        error = _too_long(field, value)
        if from_json and not error and not isinstance(field, SecretField):
            error = _forbidden_character(field, value)
        return normalise_text(value), error
    if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.CharField):
        if not isinstance(value, list):
            return value, None  # DRF names the wrong shape
        if any(not isinstance(item, str) for item in value if item is not None):
            return value, MSG_NOT_TEXT
        error = next((e for e in (_too_long(field.child, item) for item in value if item is not None) if e), None)
        if error is None and from_json:
            forbidden = ((i, _forbidden_character(field.child, item)) for i, item in enumerate(value) if item is not None)
            error = {index: [message] for index, message in forbidden if message} or None
        return [normalise_text(item) if isinstance(item, str) else item for item in value], error
    if isinstance(field, _DIGIT_FIELDS) and isinstance(value, str) and not value.isascii():
        return value, MSG_ASCII_DIGITS
    if from_json and isinstance(field, _NUMBER_FIELDS) and isinstance(value, str):
        return value, field.error_messages["invalid"]
    if isinstance(field, (serializers.DateTimeField, serializers.DateField)) and isinstance(value, str):
        return value, _out_of_range(field, value)
    return value, None


# Fields that hold other fields, bound to them: copied whole, as DRF copies every field.
_FIELDS_OF_FIELDS = (serializers.BaseSerializer, serializers.ListField, serializers.DictField, serializers.ManyRelatedField)


def fields_copied(declared):
    """A serializer's own copy of its declared fields, to bind: what DRF's `get_fields` gives
    (a deep copy, which makes each field anew from its arguments), for about a third of the
    cost. A field is made once, when its class is, and DRF changes only what binding sets
    (`field_name`, `parent`, `source`, `label`, `source_attrs`) and what a field caches on
    itself, so a shallow copy of a field that holds no other field serves; one that does
    (a list, a nested serializer) is copied as DRF copies it."""
    return {
        name: copy.deepcopy(field) if isinstance(field, _FIELDS_OF_FIELDS) else shallow_copy(field)
        for name, field in declared.items()
    }


class InputSerializer(serializers.Serializer):
    """The base of every request body and query-string serializer: text is text, in NFC;
    numbers and dates use ASCII digits. Every request makes one or more: their fields are
    copied shallow (`fields_copied`)."""

    def get_fields(self):
        return fields_copied(self._declared_fields)

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            data, errors = self._cleaned(data)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def _cleaned(self, data):
        errors = {}
        many = hasattr(data, "getlist")  # a QueryDict: every value is a list of strings
        # A mutable QueryDict (setlist below) or a dict; QueryDict has no type information.
        cleaned: Any = data.copy() if many else dict(data)
        for name, field in self.fields.items():
            if field.read_only or name not in data:
                continue
            if many:
                values = data.getlist(name)
                item_field = field.child if isinstance(field, serializers.ListField) else field
                results = [clean_value(item_field, v, from_json=False) for v in values]
                cleaned.setlist(name, [v for v, _ in results])
                error = next((e for _, e in results if e), None)
            else:
                cleaned[name], error = clean_value(field, data[name])
            if error:
                errors[name] = error if isinstance(error, dict) else [error]
        return cleaned, errors


def unknown_key_errors(keys):
    """{key: [message]} refusing each key a body may not set (not declared, or read-only): the
    strict serializers below and the session body (attempts.ingestion) word it this way."""
    return {key: [MSG_NOT_WRITABLE] for key in keys}


class StrictSerializer(InputSerializer):
    """Rejects keys it does not declare (mass assignment of read-only or unknown fields
    is a 400 naming them, never silently applied or dropped)."""

    def to_internal_value(self, data):
        unknown = []
        if hasattr(data, "keys"):
            unknown = sorted(key for key in data if key not in self.fields or self.fields[key].read_only)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown_key_errors(unknown))
            raise
        if unknown:
            raise serializers.ValidationError(unknown_key_errors(unknown))
        return value


class FiniteFloatField(serializers.FloatField):
    """A float that is a real JSON number or numeric string: no booleans, NaN or infinity."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            raise serializers.ValidationError(MSG_NOT_A_NUMBER)
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError(MSG_NOT_FINITE)
        return value


ISO_DATE_OR_DATETIME = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}


@extend_schema_field(ISO_DATE_OR_DATETIME)
class IsoDateOrDateTimeField(serializers.CharField):
    """An ISO 8601 date or date-time as text, for the schema; a FilterSet's
    config.query.IsoDateTimeBoundField reads it."""


@extend_schema_field(OpenApiTypes.BOOL)
class QueryBooleanField(serializers.Field):
    """A query-string boolean read with config.query.parse_boolean (the spellings an endpoint
    accepts and the message for anything else are its own, fixed by its contract)."""

    def __init__(self, *, true=("true", "1"), false=("false", "0"), message=MSG_BOOLEAN_TRUE_FALSE, **kwargs):
        self.true, self.false = true, false
        super().__init__(**kwargs)
        self.error_messages["invalid"] = message

    def get_value(self, dictionary):
        # Only an absent parameter takes the default; a blank one is not a boolean.
        return dictionary.get(self.field_name, empty)

    def to_internal_value(self, data):
        value = parse_boolean(data, true=self.true, false=self.false)
        if value is None:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return bool(value)


def page_query(*, per_page_default=50, per_page_max=500, page_help=None, per_page_help=None):
    """Query parameters of a page-numbered list (`page`, `per_page`)."""
    return type(
        "PageQuerySerializer",
        (InputSerializer,),
        {
            "page": serializers.IntegerField(min_value=1, max_value=PAGE_MAX, default=1, help_text=page_help),
            "per_page": serializers.IntegerField(
                min_value=1, max_value=per_page_max, default=per_page_default, help_text=per_page_help
            ),
        },
    )


def skip_limit_query(*, limit_default=10, limit_max=100, skip_help=None, limit_help=None):
    """Query parameters of an offset list in the console's spelling (`skip`, `limit`)."""
    return type(
        "SkipLimitQuerySerializer",
        (InputSerializer,),
        {
            "skip": serializers.IntegerField(min_value=0, max_value=SKIP_MAX, default=0, help_text=skip_help),
            "limit": serializers.IntegerField(
                min_value=1, max_value=limit_max, default=limit_default, help_text=limit_help
            ),
        },
    )


def enveloped(name, data, *, many=False, paged=False):
    """A schema component for `{"success", "data", "message"}` (plus the paging fields).

    `data` is a serializer class (instantiated with `many`) or a ready serializer/field."""
    fields = {
        "success": serializers.BooleanField(default=True),
        "data": data(many=many) if isinstance(data, type) else data,
        "message": serializers.CharField(allow_null=True, default=None),
    }
    if paged:
        fields.update(
            total=serializers.IntegerField(),
            page=serializers.IntegerField(),
            page_size=serializers.IntegerField(),
            total_pages=serializers.IntegerField(),
        )
    return type(name, (serializers.Serializer,), fields)


class ErrorEnvelopeSerializer(serializers.Serializer):
    """The error envelope (SPEC §6), for the schema."""

    success = serializers.BooleanField(default=False)
    data = serializers.JSONField(allow_null=True, default=None)
    message = serializers.CharField()
    code = serializers.CharField(
        help_text="VALIDATION_ERROR, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, "
        "EXPORT_LIMIT_EXCEEDED, RATE_LIMITED, SERVICE_UNAVAILABLE, SERVER_ERROR"
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), allow_null=True, help_text="Messages per field."
    )


class _StatedMinimum(MinLengthValidator):
    """States a minimum in the schema; a service checks it, with its own message."""

    def __call__(self, value):
        pass


class _StatedMaximum(MaxLengthValidator):
    """States a maximum in the schema; a service checks it, with its own message."""

    def __call__(self, value):
        pass


class BulkIdsField(serializers.ListField):
    """1 to MAX_BULK_IDS ids, as given (repeats counted). How many is the bulk service's rule,
    refused there with its one message; the schema states it (minItems, maxItems)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        field: Any = self  # DRF's `validators` property is untyped
        field.validators = [*field.validators, _StatedMinimum(1), _StatedMaximum(MAX_BULK_IDS)]
