"""The API's JSON renderer writes DRF's bytes, through orjson when the data is plain."""
import datetime as dt
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from config.renderers import JSONRenderer

PLAIN = [
    {"user_id": "6650a1b2", "score": 82.5, "zero": 0.0, "neg": -0.0, "third": 1 / 3, "big": 1e16, "n": 2**63 - 1},
    {"text": "Ünïcode, RTL \u202eabc, combining e\u0301, emoji 😀, controls \x00\x01\x1f\x7f \"\\/\b\f\n\r\t"},
    {"separators": "line\u2028paragraph\u2029end"},
    ReturnDict({"a": ReturnList([1, None, True, False, "x"], serializer=None)}, serializer=None),
    {"errors": {"search": [ErrorDetail("Ensure this field has no more than 200 characters.", code="max_length")]}},
    [],
    {},
    "",
    [[[{"deep": [1, 2, {"x": []}]}]]],
]

NOT_PLAIN = [
    {"when": dt.datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=dt.timezone.utc)},
    {"day": dt.date(2026, 12, 4), "time": dt.time(9, 30)},
    {"amount": decimal.Decimal("12.50")},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"lazy": gettext_lazy("Not found.")},
    {"huge": 2**70},
    {1: "a key that is not text"},
    {"lone surrogate": "\ud800"},
    {"tuple": (1, 2)},
]


@pytest.mark.parametrize("data", PLAIN + NOT_PLAIN, ids=lambda d: repr(d)[:40])
def test_the_bytes_are_drfs(data):
    try:
        expected = DRFJSONRenderer().render(data)
    except UnicodeEncodeError:  # DRF cannot write a lone surrogate either
        with pytest.raises(UnicodeEncodeError):
            JSONRenderer().render(data)
        return
    assert JSONRenderer().render(data) == expected


@pytest.mark.parametrize("media_type, context", [("application/json; indent=4", {}), (None, {"indent": 4})])
def test_indented_output_is_drfs(media_type, context):
    data = {"a": [1, {"b": "c"}], "when": "2026-12-04T09:30:15Z"}
    assert JSONRenderer().render(data, media_type, context) == DRFJSONRenderer().render(data, media_type, context)
    assert b"\n    " in JSONRenderer().render(data, media_type, context)


def test_nothing_renders_as_nothing():
    assert JSONRenderer().render(None) == b""


def test_the_api_answers_through_it(viewer_client):
    response = viewer_client.get("/v1/console/students")
    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, JSONRenderer)
    assert response.content == DRFJSONRenderer().render(response.data)
