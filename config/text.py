"""Which characters text may hold: the one rule every client's text is held to (API bodies,
the console's forms, the student import, session ingestion), and what is taken out of text
written to an XLSX file.

XML 1.0, and so every XLSX file, cannot hold U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, a
lone surrogate, U+FFFE or U+FFFF. Text a client writes holds none of them, nor DEL or the C1
controls (U+007F–U+009F); one-line text (a name, an email, a code) holds no tab or line break
either, while free text (a reason, a transcript, feedback) may. Rows stored before the rule
may still hold such characters, so the XLSX writers strip them with `xml_safe`.
"""
import re

from django.core.exceptions import ValidationError

from config.errors import AppError

# Character classes (inside [...]) in escapes that Python's re and ECMAScript read alike, so
# the OpenAPI schema (config.openapi) states the rule as it is checked. Lone surrogates are
# refused as well but stay out of these classes: no pattern names them portably (ECMAScript
# reads a character past U+FFFF as two surrogates; the Rust regex the schema fuzzer validates
# with refuses a pattern naming them).
FREE_TEXT_FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff"
ONE_LINE_FORBIDDEN = r"\x00-\x1f\x7f-\x9f\ufffe\uffff"
_XML_ILLEGAL = r"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
_SURROGATES = r"\ud800-\udfff"

MSG_CONTROL_CHARACTER = "Remove the control characters (tabs and line breaks included) from this text."
MSG_CONTROL_CHARACTER_FREE_TEXT = "Remove the control characters (other than tabs and line breaks) from this text."

_XML_ILLEGAL_RE = re.compile(f"[{_XML_ILLEGAL}{_SURROGATES}]")
_FREE_TEXT_FORBIDDEN_RE = re.compile(f"[{FREE_TEXT_FORBIDDEN}{_SURROGATES}]")
_ONE_LINE_FORBIDDEN_RE = re.compile(f"[{ONE_LINE_FORBIDDEN}{_SURROGATES}]")


def forbidden_character_message(text, *, free_text=False):
    """The refusal of `text` (as the client sent it), or None when it may be stored."""
    # str.isprintable() is false for every character refused here (Cc, Cs, Cn) and true for
    # nearly all text people write: one pass in C settles most values before a regex runs.
    if text.isprintable():
        return None
    if free_text:
        return MSG_CONTROL_CHARACTER_FREE_TEXT if _FREE_TEXT_FORBIDDEN_RE.search(text) else None
    return MSG_CONTROL_CHARACTER if _ONE_LINE_FORBIDDEN_RE.search(text) else None


def validate_one_line_text(value):
    """Django validator (console forms) for one-line text."""
    message = forbidden_character_message(value)
    if message:
        raise ValidationError(message, code="control_character")


def validate_free_text(value):
    """Django validator (console forms) for text that may run over several lines."""
    message = forbidden_character_message(value, free_text=True)
    if message:
        raise ValidationError(message, code="control_character")


def xml_safe(value):
    """`value` with the characters XML 1.0 cannot hold taken out, for a cell or sheet name of
    an XLSX file; anything but text is returned as it is. Cheap on clean text (one
    isprintable pass), as the writers call it for every cell."""
    if isinstance(value, str) and not value.isprintable():
        return _XML_ILLEGAL_RE.sub("", value)
    return value


def reason_checked(reason, *, max_length, required, too_long, field="reason"):
    """A free-text reason a service takes (a grant's, an erasure's): stripped, required and not
    blank, at most `max_length` characters; else an AppError naming `field` with that feature's
    message (`required`, `too_long`)."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise AppError.validation({field: required})
    if len(reason) > max_length:
        raise AppError.validation({field: too_long})
    return reason
