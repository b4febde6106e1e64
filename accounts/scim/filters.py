"""SCIM filters (RFC 7644 §3.4.2.2), read into a small tree: a Users list's `filter`
(`userName eq "ada@uni.example"`, the probe identity providers send before they create) becomes
a Q object over StaffUser, and the filter of a PATCH value path (`emails[type eq "work"]`) is
tested against one multi-valued item.

Supported: the comparisons eq, ne, co, sw, ew and pr (gt, ge, lt and le on meta.created), and,
or, not, parentheses. Attribute names are case-insensitive and may carry the User schema's
URN. Anything else is a 400 with scimType invalidFilter."""
import json
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from accounts.scim.protocol import INVALID_FILTER, USER_SCHEMA, ScimError
from config.query import normalise_text
from config.text import forbidden_character_message

MAX_DEPTH = 16  # nested parentheses and not(…): a deeper filter is refused, never a RecursionError

MSG_SCIM_FILTER_SYNTAX = "The filter is not valid SCIM filter syntax near position {position}: {problem}"
MSG_SCIM_FILTER_TOO_DEEP = f"The filter nests more than {MAX_DEPTH} levels of parentheses."
MSG_SCIM_FILTER_ATTRIBUTE = (
    "Users cannot be filtered by {attribute}: use id, userName, externalId, displayName, name.formatted, "
    "name.givenName, name.familyName, emails, active or meta.created."
)
MSG_SCIM_FILTER_OPERATOR = "{attribute} cannot be compared with {operator}."
MSG_SCIM_FILTER_VALUE = "{attribute} {operator} needs {kind}."

COMPARISONS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<open>\()|(?P<close>\))|(?P<lbracket>\[)|(?P<rbracket>\])
      |(?P<string>"(?:[^"\\]|\\.)*")
      |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      |(?P<word>(?:urn:[A-Za-z0-9:._-]+:)?[A-Za-z][A-Za-z0-9_$-]*(?:\.[A-Za-z][A-Za-z0-9_$-]*)?)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Comparison:
    attribute: str  # lower case, the core schema's URN taken off
    operator: str  # eq … le, or pr
    value: Any = None


@dataclass(frozen=True)
class Logical:
    operator: str  # and, or
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


def attribute_name(name):
    """The attribute as compared: lower case, without the User schema's URN."""
    lowered = name.lower()
    prefix = USER_SCHEMA.lower() + ":"
    return lowered[len(prefix):] if lowered.startswith(prefix) else lowered


def _syntax(position, problem):
    return ScimError(400, MSG_SCIM_FILTER_SYNTAX.format(position=position + 1, problem=problem), INVALID_FILTER)


def _tokens(text):
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _syntax(position, "an unexpected character.")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text):
        self.tokens = _tokens(text)
        self.index = 0
        self.length = len(text)

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None, self.length)

    def take(self):
        token = self.peek()
        self.index += 1
        return token

    def keyword(self, *words):
        kind, value, _ = self.peek()
        return kind == "word" and value.lower() in words

    def expect(self, kind, problem):
        token = self.take()
        if token[0] != kind:
            raise _syntax(token[2], problem)
        return token

    def filter(self, depth=0):
        if depth > MAX_DEPTH:
            raise ScimError(400, MSG_SCIM_FILTER_TOO_DEEP, INVALID_FILTER)
        node = self.conjunction(depth)
        while self.keyword("or"):
            self.take()
            node = Logical("or", node, self.conjunction(depth))
        return node

    def conjunction(self, depth):
        node = self.factor(depth)
        while self.keyword("and"):
            self.take()
            node = Logical("and", node, self.factor(depth))
        return node

    def factor(self, depth):
        kind, value, position = self.peek()
        if kind == "word" and value.lower() == "not":
            self.take()
            self.expect("open", "not is followed by a filter in parentheses.")
            node = Not(self.filter(depth + 1))
            self.expect("close", "a closing parenthesis is missing.")
            return node
        if kind == "open":
            self.take()
            node = self.filter(depth + 1)
            self.expect("close", "a closing parenthesis is missing.")
            return node
        if kind != "word":
            raise _syntax(position, "an attribute name was expected.")
        self.take()
        attribute = attribute_name(value)
        if self.peek()[0] == "lbracket":
            raise _syntax(self.peek()[2], "value filters ([…]) are not supported in a list's filter.")
        kind, operator, position = self.take()
        operator = (operator or "").lower()
        if kind != "word" or operator not in (*COMPARISONS, "pr"):
            raise _syntax(position, "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) was expected.")
        if operator == "pr":
            return Comparison(attribute, "pr")
        return Comparison(attribute, operator, self.value())

    def value(self):
        kind, text, position = self.take()
        if kind == "string":
            try:
                value = json.loads(text)
            except ValueError:
                raise _syntax(position, "the string is not valid.") from None
            if forbidden_character_message(value):
                raise _syntax(position, "the string holds control characters.")
            return value
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "word" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise _syntax(position, "a value (a string in double quotes, a number, true, false or null) was expected.")


def parse_filter(text):
    """The tree of a filter, or a ScimError (400 invalidFilter)."""
    parser = _Parser(text)
    if not parser.tokens:
        raise _syntax(0, "the filter is empty.")
    node = parser.filter()
    kind, _, position = parser.peek()
    if kind is not None:
        raise _syntax(position, "and, or or the end of the filter was expected.")
    return node


# Users ------------------------------------------------------------------------------------

# attribute -> (StaffUser field, kind): text compares ignoring case (caseExact false), exact
# text with it (externalId is caseExact), id, boolean or date-time.
USER_ATTRIBUTES = {
    "id": ("pk", "id"),
    "username": ("email", "text"),
    "externalid": ("scim_external_id", "exact"),
    "displayname": ("full_name", "text"),
    "name.formatted": ("full_name", "text"),
    "name.givenname": ("scim_given_name", "text"),
    "name.familyname": ("scim_family_name", "text"),
    "emails": ("email", "text"),
    "emails.value": ("email", "text"),
    "active": ("is_active", "boolean"),
    "meta.created": ("date_joined", "datetime"),
}
_TEXT_LOOKUPS = {"eq": "iexact", "co": "icontains", "sw": "istartswith", "ew": "iendswith"}
_EXACT_LOOKUPS = {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith"}
_ORDER_LOOKUPS = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
MAX_ID = 2**63 - 1


def _refused(comparison, kind):
    return ScimError(
        400, MSG_SCIM_FILTER_VALUE.format(attribute=comparison.attribute, operator=comparison.operator, kind=kind),
        INVALID_FILTER,
    )


def _operator_refused(comparison):
    return ScimError(
        400, MSG_SCIM_FILTER_OPERATOR.format(attribute=comparison.attribute, operator=comparison.operator), INVALID_FILTER
    )


def _user_comparison(comparison):
    if comparison.attribute not in USER_ATTRIBUTES:
        raise ScimError(400, MSG_SCIM_FILTER_ATTRIBUTE.format(attribute=comparison.attribute), INVALID_FILTER)
    field, kind = USER_ATTRIBUTES[comparison.attribute]
    operator, value = comparison.operator, comparison.value
    if operator == "pr":
        return ~Q(**{field: ""}) if kind in ("text", "exact") else Q()
    negate = operator == "ne"
    operator = "eq" if negate else operator
    if kind in ("text", "exact"):
        if value is None and operator == "eq":
            q = Q(**{field: ""})
        elif not isinstance(value, str):
            raise _refused(comparison, "a string")
        elif operator in _TEXT_LOOKUPS:
            value = normalise_text(value) if kind == "text" else value  # stored in NFC (an externalId as sent)
            q = Q(**{f"{field}__{(_TEXT_LOOKUPS if kind == 'text' else _EXACT_LOOKUPS)[operator]}": value})
        else:
            raise _operator_refused(comparison)
    elif kind == "id":
        if operator != "eq":
            raise _operator_refused(comparison)
        if not isinstance(value, str):
            raise _refused(comparison, "a string")
        # An id that is no number names no user (rather than an error: ids are opaque to clients).
        q = Q(pk=int(value)) if value.isascii() and value.isdigit() and int(value) <= MAX_ID else Q(pk__in=[])
    elif kind == "boolean":
        if operator != "eq":
            raise _operator_refused(comparison)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise _refused(comparison, "true or false")
        q = Q(**{field: value})
    else:  # datetime
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise _refused(comparison, "a date-time such as 2026-01-31T09:00:00Z")
        if operator == "eq":
            q = Q(**{field: moment})
        elif operator in _ORDER_LOOKUPS:
            q = Q(**{f"{field}__{_ORDER_LOOKUPS[operator]}": moment})
        else:
            raise _operator_refused(comparison)
    return ~q if negate else q


def user_filter_q(node):
    """The Q object over StaffUser of a parsed filter (a ScimError for what Users cannot be
    filtered by)."""
    if isinstance(node, Logical):
        left, right = user_filter_q(node.left), user_filter_q(node.right)
        return (left & right) if node.operator == "and" else (left | right)
    if isinstance(node, Not):
        return ~user_filter_q(node.operand)
    return _user_comparison(node)


# One item of a multi-valued attribute (a PATCH path's value filter) ------------------------


def item_matches(node, item):
    """Whether `item` (a dict such as {"value": …, "type": "work", "primary": True}) passes the
    filter; text compares ignoring case."""
    if isinstance(node, Logical):
        if node.operator == "and":
            return item_matches(node.left, item) and item_matches(node.right, item)
        return item_matches(node.left, item) or item_matches(node.right, item)
    if isinstance(node, Not):
        return not item_matches(node.operand, item)
    actual = {key.lower(): value for key, value in item.items()}.get(node.attribute)
    if node.operator == "pr":
        return actual not in (None, "")
    expected = node.value
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    if node.operator in ("eq", "ne"):
        return (actual == expected) == (node.operator == "eq")
    if not (isinstance(actual, str) and isinstance(expected, str)):
        return False
    return {
        "co": expected in actual,
        "sw": actual.startswith(expected),
        "ew": actual.endswith(expected),
        "gt": actual > expected,
        "ge": actual >= expected,
        "lt": actual < expected,
        "le": actual <= expected,
    }[node.operator]
