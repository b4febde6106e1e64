"""Request body parsers: DRF's JSON parser with a nesting limit, so a hostile body is a 400
naming the body, never a RecursionError."""
from collections.abc import Iterable

from rest_framework import parsers
from rest_framework.exceptions import ValidationError

MAX_JSON_DEPTH = 32
MSG_TOO_DEEP = f"JSON may nest at most {MAX_JSON_DEPTH} levels of arrays and objects."


def json_depth(value):
    """How deeply arrays and objects nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ValidationError({"body": [MSG_TOO_DEEP]}) from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ValidationError({"body": [MSG_TOO_DEEP]})
        return data
