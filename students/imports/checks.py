"""The records API's field rules (students.records.serializers.StudentCreateSerializer) over a
whole file at once, column by column, instead of the serializer once per row.

The rules are the serializer's own: each column is checked by the serializer's field of that
name, its declared limits and validators. A cell is accepted at once when it is plain text
the field surely takes as it is (a string of printable characters, in NFC, without surrounding
whitespace, not blank, within the field's max_length, passing the field's other validators
such as the email's); any other cell is run once through the field itself, exactly as the
serializer runs it (config.serializers' cleaning, then the field's run_validation), and
remembered by its value: a column such as status or programme_codes holds a handful of
distinct values in 50,000 rows. A row with a cell the field refuses, or without a value the
serializer requires, goes through the whole serializer, so its errors are the serializer's,
word for word (students/tests/test_import_checks.py holds the accepted values equal too).
"""
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from config.serializers import _clean_value

# Validators a plain-text cell's own checks already settle: the length by max_length, null and
# surrogate characters by str.isprintable (false for both).
_SETTLED = (MaxLengthValidator, ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)
_REFUSED = (False, None)


@dataclass
class FieldCheck:
    """One serializer field's rule over a column's cells: `check(value)` is (accepted, the
    value the serializer would give)."""

    field: serializers.Field
    text: bool = False  # plain text: the quick acceptance applies
    max_length: int | None = None
    validators: list = field(default_factory=list)
    known: dict = field(default_factory=dict)  # value as given -> (accepted, value)

    @classmethod
    def of(cls, serializer_field):
        kind = type(serializer_field)
        text = (
            isinstance(serializer_field, serializers.CharField)
            # a subclass reading text its own way is run as it is
            and kind.to_internal_value is serializers.CharField.to_internal_value
            and kind.run_validation is serializers.CharField.run_validation
            and serializer_field.trim_whitespace
            and not serializer_field.allow_blank
        )
        return cls(
            field=serializer_field,
            text=text,
            max_length=getattr(serializer_field, "max_length", None),
            validators=[v for v in serializer_field.validators if not isinstance(v, _SETTLED)],
        )

    def check(self, value):
        if self.text and type(value) is str and self._plain(value):
            return True, value
        key = tuple(value) if isinstance(value, list) else value
        outcome = self.known.get(key)
        if outcome is None:
            outcome = self.known[key] = self._run(value)
        accepted, checked = outcome
        # a list (programme codes) is each row's own, as the serializer would give it
        return (accepted, list(checked)) if isinstance(checked, list) else outcome

    def _plain(self, value):
        """Text the field takes as it is: the serializer would clean, trim and NFC it to itself."""
        if not value or not value.isprintable() or value != value.strip():
            return False
        if self.max_length is not None and len(value) > self.max_length:
            return False
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            return False
        try:
            for validator in self.validators:
                validator(value)
        except DjangoValidationError:
            return False
        return True

    def _run(self, value):
        """The field's own verdict, as the serializer reaches it."""
        cleaned, error = _clean_value(self.field, value)
        if error:
            return _REFUSED
        try:
            return True, self.field.run_validation(cleaned)
        except ValidationError:
            return _REFUSED


class TableCheck:
    """The serializer's fields over rows given as {column: value} (a column left out of a row
    is not given): `values(given)` is the row's values when every field accepts them, else None
    (then the caller runs the serializer for its errors)."""

    def __init__(self, serializer):
        self.checks = {name: FieldCheck.of(f) for name, f in serializer.fields.items() if not f.read_only}
        self.required = [name for name, f in serializer.fields.items() if f.required and not f.read_only]

    def values(self, given) -> dict[str, Any] | None:
        if any(name not in given for name in self.required):
            return None
        values = {}
        for name, value in given.items():
            check = self.checks.get(name)
            if check is None:
                return None
            accepted, values[name] = check.check(value)
            if not accepted:
                return None
        return values
