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
import sys
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator, MaxLengthValidator, ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from config.serializers import clean_value

# Validators a plain-text cell's own checks already settle: the length by max_length, null and
# surrogate characters by str.isprintable (false for both).
_SETTLED = (MaxLengthValidator, ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)
_REFUSED = (False, None)


class _EmailAccepts:
    """Django's EmailValidator, as it decides (its own patterns and domain rule), with the
    verdict on each domain remembered: 50,000 addresses share a few domains."""

    def __init__(self, validator):
        self.validator = validator
        self.user_match = validator.user_regex.match  # a lazily compiled pattern, read once
        self.domains: dict[str, bool] = {}

    def __call__(self, value):
        if not value or "@" not in value or len(value) > 320:
            return False
        user_part, domain_part = value.rsplit("@", 1)
        if not self.user_match(user_part):
            return False
        verdict = self.domains.get(domain_part)
        if verdict is None:
            verdict = self.domains[domain_part] = (
                domain_part in self.validator.domain_allowlist or self.validator.validate_domain_part(domain_part)
            )
        return verdict


class _Accepts:
    """Any other validator, as it is called."""

    def __init__(self, validator):
        self.validator = validator

    def __call__(self, value):
        try:
            self.validator(value)
        except DjangoValidationError:
            return False
        return True


def _accepts(validator):
    return _EmailAccepts(validator) if type(validator) is EmailValidator else _Accepts(validator)


@dataclass
class FieldCheck:
    """One serializer field's rule over a column's cells: `column(values)` is, for each,
    (accepted, the value the serializer would give). A cell that is not plain text is run
    through the field once per distinct value (`known`)."""

    field: serializers.Field
    text: bool = False  # plain text: the quick acceptance applies
    max_length: int = 0
    accepts: list = field(default_factory=list)
    known: dict = field(default_factory=dict)  # (type, value as given) -> (accepted, value)

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
            max_length=getattr(serializer_field, "max_length", None) or sys.maxsize,
            accepts=[_accepts(v) for v in serializer_field.validators if not isinstance(v, _SETTLED)],
        )

    def column(self, values):
        plain = self._plain_all(values) if self.text else [False] * len(values)
        known, outcomes = self.known, []
        for value, quick in zip(values, plain, strict=True):
            if quick:
                outcomes.append((True, value))
                continue
            # by type too: 1 and True (or 1.0) are one key to a dict, not to the field
            key = (list, tuple(value)) if type(value) is list else (type(value), value)
            outcome = known.get(key)
            if outcome is None:
                outcome = known[key] = self._run(value)
            if type(outcome[1]) is list:  # each row's own list, as the serializer gives it
                outcome = (outcome[0], list(outcome[1]))
            outcomes.append(outcome)
        return outcomes

    def _plain_all(self, values):
        """For each value: text the field takes as it is (the serializer would clean, trim and
        NFC it to itself, and its validators pass)."""
        longest, accepts = self.max_length, self.accepts
        plain = [
            type(v) is str and bool(v) and len(v) <= longest and v.isprintable() and v == v.strip()
            and (v.isascii() or unicodedata.is_normalized("NFC", v))
            for v in values
        ]
        for accept in accepts:
            plain = [quick and accept(v) for v, quick in zip(values, plain, strict=True)]
        return plain

    def _run(self, value):
        """The field's own verdict, as the serializer reaches it."""
        cleaned, error = clean_value(self.field, value)
        if error:
            return _REFUSED
        try:
            return True, self.field.run_validation(cleaned)
        except ValidationError:
            return _REFUSED


_MISSING = object()


class TableCheck:
    """The serializer's fields over rows given as {column: value} (a column left out of a row
    is not given): `values(givens)` is, for each row, its values when every field accepts them,
    else None (then the caller runs the serializer for its errors)."""

    def __init__(self, serializer):
        self.checks = {name: FieldCheck.of(f) for name, f in serializer.fields.items() if not f.read_only}
        self.required = [name for name, f in serializer.fields.items() if f.required and not f.read_only]

    def values(self, givens) -> list[dict[str, Any] | None]:
        refused = [any(name not in given for name in self.required) for given in givens]
        values: list[dict[str, Any]] = [{} for _ in givens]
        names = dict.fromkeys(name for given in givens for name in given)
        for name in names:
            check = self.checks.get(name)
            cells = [given.get(name, _MISSING) for given in givens]
            if check is None:
                refused = [no or cell is not _MISSING for no, cell in zip(refused, cells, strict=True)]
                continue
            at = [i for i, cell in enumerate(cells) if cell is not _MISSING and not refused[i]]
            for i, (accepted, value) in zip(at, check.column([cells[i] for i in at]), strict=True):
                if accepted:
                    values[i][name] = value
                else:
                    refused[i] = True
        return [None if no else row for no, row in zip(refused, values, strict=True)]
