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
REFUSED = object()  # a value the field refuses
MISSING = object()  # a row's cell of a column it does not give


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

    def column(self, values, plain):
        """`self(value)` of each value still plain (the others stay refused), the column at once:
        the user part matched for each, the domain decided once."""
        parts = [v.rpartition("@") if quick and "@" in v and len(v) <= 320 else None for v, quick in zip(values, plain, strict=True)]
        for domain in {part[2] for part in parts if part is not None} - self.domains.keys():
            self.domains[domain] = domain in self.validator.domain_allowlist or self.validator.validate_domain_part(domain)
        user_match, domains = self.user_match, self.domains
        return [part is not None and bool(user_match(part[0])) and domains[part[2]] for part in parts]


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

    def column(self, values, plain):
        return [quick and self(v) for v, quick in zip(values, plain, strict=True)]


def _accepts(validator):
    return _EmailAccepts(validator) if type(validator) is EmailValidator else _Accepts(validator)


@dataclass
class FieldCheck:
    """One serializer field's rule over a column's cells: `column(values)` is, for each, the
    value the serializer would give, or REFUSED. A cell that is not plain text is run through
    the field once per distinct value (`known`)."""

    field: serializers.Field
    text: bool = False  # plain text: the quick acceptance applies
    max_length: int = 0
    accepts: list = field(default_factory=list)
    lists: bool = False  # the field gives lists
    known: dict = field(default_factory=dict)  # a str, or (type, value as given) -> value or REFUSED

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
            lists=isinstance(serializer_field, serializers.ListField),
            max_length=getattr(serializer_field, "max_length", None) or sys.maxsize,
            accepts=[_accepts(v) for v in serializer_field.validators if not isinstance(v, _SETTLED)],
        )

    def column(self, values):
        """For each value, the value the serializer gives it, or REFUSED."""
        if not self.text:
            return self._known_all(values)
        plain = self._plain_all(values)
        if all(plain):
            return list(values)
        unsure = [v for v, quick in zip(values, plain, strict=True) if not quick]
        outcomes = iter(self._known_all(unsure))
        return [v if quick else next(outcomes) for v, quick in zip(values, plain, strict=True)]

    def _known_all(self, values):
        """The field's verdict on each value, each distinct one run once."""
        known = self.known
        # by type too: 1 and True (or 1.0) are one key to a dict, not to the field
        keys = [
            v if type(v) is str else (list, tuple(v)) if type(v) is list else (type(v), v)
            for v in values
        ]
        for key, value in zip(keys, values, strict=True):
            if key not in known:
                known[key] = self._run(value)
        outcomes = [known[key] for key in keys]
        if self.lists:  # each row's own list, as the serializer gives it
            outcomes = [list(o) if type(o) is list else o for o in outcomes]
        return outcomes

    def _plain_all(self, values):
        """For each value: text the field takes as it is (the serializer would clean, trim and
        NFC it to itself, and its validators pass)."""
        longest, accepts = self.max_length, self.accepts
        if self._text_all(values):
            plain = [True] * len(values)
        else:
            plain = [
                type(v) is str and bool(v) and len(v) <= longest and v.isprintable() and v == v.strip()
                and (v.isascii() or unicodedata.is_normalized("NFC", v))
                for v in values
            ]
        for accept in accepts:
            plain = accept.column(values, plain)
        return plain

    def _text_all(self, values):
        """The test above for every value at once, on the column joined: printable as a whole
        means no value holds a control or separator character but the space (nor the NUL that
        joins them), so a space next to a NUL is the only way a value can need trimming; and
        NUL, a character that never combines or reorders, leaves each value's NFC its own."""
        if not values or set(map(type, values)) != {str}:
            return False
        lengths = list(map(len, values))
        if min(lengths) == 0 or max(lengths) > self.max_length or not "".join(values).isprintable():
            return False
        joined = "\x00" + "\x00".join(values) + "\x00"
        return "\x00 " not in joined and " \x00" not in joined and (joined.isascii() or unicodedata.is_normalized("NFC", joined))

    def _run(self, value):
        """The field's own verdict, as the serializer reaches it."""
        cleaned, error = clean_value(self.field, value)
        if error:
            return REFUSED
        try:
            return self.field.run_validation(cleaned)
        except ValidationError:
            return REFUSED


class TableCheck:
    """The serializer's fields over a table given a column at a time, {column: [a value, or
    MISSING when the row does not give it]}: `table(columns, count)` is, for each of the
    `count` rows, its values when every field accepts them, else None (then the caller runs
    the serializer for its errors)."""

    def __init__(self, serializer):
        self.checks = {name: FieldCheck.of(f) for name, f in serializer.fields.items() if not f.read_only}
        self.required = [name for name, f in serializer.fields.items() if f.required and not f.read_only]

    def table(self, columns, count) -> list[dict[str, Any] | None]:
        refused = [False] * count
        for name in self.required:
            cells = columns.get(name)
            refused = [True] * count if cells is None else [no or c is MISSING for no, c in zip(refused, cells, strict=True)]
        checked = {}
        for name, cells in columns.items():
            check = self.checks.get(name)
            if check is None:
                refused = [no or c is not MISSING for no, c in zip(refused, cells, strict=True)]
                continue
            at = [i for i, cell in enumerate(cells) if cell is not MISSING and not refused[i]]
            if len(at) == count:
                checked[name] = outcomes = check.column(cells)
            else:
                outcomes = check.column([cells[i] for i in at])
                checked[name] = [MISSING] * count
                for i, outcome in zip(at, outcomes, strict=True):
                    checked[name][i] = outcome
            refused = [no or o is REFUSED for no, o in zip(refused, checked[name], strict=True)]
        names = list(checked)
        rows = zip(*checked.values(), strict=True) if names else iter([()] * count)
        if not any(MISSING in outcomes for outcomes in checked.values()):
            return [None if no else dict(zip(names, row, strict=True)) for no, row in zip(refused, rows, strict=True)]
        return [
            None if no else {name: o for name, o in zip(names, row, strict=True) if o is not MISSING}
            for no, row in zip(refused, rows, strict=True)
        ]
