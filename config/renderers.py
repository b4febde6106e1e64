"""The API's JSON renderer: DRF's output, written by orjson when the data is plain.

A busy student's detail is 300 attempts and about 90 KB of JSON; the standard library's encoder
spends 1.5-2 ms on it, orjson a tenth of that. The bytes are DRF's own (compact separators,
UTF-8, U+2028 and U+2029 escaped): orjson writes only dicts, lists, strings, integers, floats,
booleans and None here, and hands back anything else (datetimes, decimals, lazy text, integers
beyond 64 bits, a string with a lone surrogate), which then goes through DRF's renderer as
before. Indented output (the browsable API, `; indent=N`) is DRF's too. Two differences, in
floats only: a small exponent is written 1e-7 where Python writes 1e-07 (the same number), and
NaN or infinity, which DRF refuses with an error, becomes null (no field of the API holds one:
scores are checked finite on the way in)."""
import orjson
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

# orjson's own forms of these differ from DRF's encoder (datetimes, dataclasses), so they are
# handed to DRF's renderer instead.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _not_plain(value):
    raise TypeError


class JSONRenderer(DRFJSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        plain = (
            data is not None
            and self.compact
            and not self.ensure_ascii
            and self.get_indent(accepted_media_type, renderer_context or {}) is None
        )
        if plain:
            try:
                body = orjson.dumps(data, default=_not_plain, option=_PASSTHROUGH)
            except TypeError:  # orjson.JSONEncodeError is one
                pass
            else:
                if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:
                    body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
                return body
        return super().render(data, accepted_media_type, renderer_context)
