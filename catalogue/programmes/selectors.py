"""Reads of programmes, and the two rules about codes: their shape and that they name one."""
import re

from django.core.validators import RegexValidator

from catalogue.models import Programme
from config.errors import AppError

PROGRAMME_CODE = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"
PROGRAMME_CODE_RE = re.compile(rf"^{PROGRAMME_CODE}\Z")
MSG_BAD_PROGRAMME_CODE = "Use 1-32 letters, digits or _ . - (starting with a letter or digit)."
MSG_UNKNOWN_PROGRAMMES = "Unknown programme code(s): {codes}."
# For serializer fields (the schema shows its pattern); programme_get checks a path's code.
PROGRAMME_CODE_VALIDATOR = RegexValidator(PROGRAMME_CODE_RE, MSG_BAD_PROGRAMME_CODE)


def programmes_list(*, is_active=None):
    qs = Programme.objects.order_by("code")
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs


def programme_get(*, code, for_update=False):
    """The programme with this code, 404, or 400 when the code is malformed."""
    if not PROGRAMME_CODE_RE.match(code):
        raise AppError.validation({"code": MSG_BAD_PROGRAMME_CODE})
    qs = Programme.objects.select_for_update() if for_update else Programme.objects
    programme = qs.filter(code=code).first()
    if programme is None:
        raise AppError.not_found()
    return programme


def programmes_for_codes(codes, *, field="programme_codes"):
    """The programmes with these codes (duplicates ignored), or a 400 naming `field`."""
    wanted = list(dict.fromkeys(codes))
    found = {p.code: p for p in Programme.objects.filter(code__in=wanted)}
    missing = [code for code in wanted if code not in found]
    if missing:
        raise AppError.validation({field: unknown_programmes_message(missing)})
    return [found[code] for code in wanted]


def unknown_programmes_message(codes):
    """What a refusal says of codes that name no programme (programmes_for_codes, the import)."""
    return MSG_UNKNOWN_PROGRAMMES.format(codes=", ".join(codes))
