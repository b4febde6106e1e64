"""Timestamps load through psycopg's own (C) loader when Django's time zone is UTC, and read
back exactly as Django's own loader reads them (config/postgresql/base.py)."""
import datetime as dt

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

from attempts.models import Session
from config.postgresql.base import UtcTimestamptzLoader
from testing.factories import SessionFactory

TIMESTAMPTZ_OID = 1184
VALUES = [
    "2026-01-01 10:00:00+00",
    "2026-01-01 10:00:00.5+03",
    "2026-06-30 23:59:59.999999-07:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def _load(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_the_connection_registers_the_c_loader():
    connection.ensure_connection()
    assert connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is UtcTimestamptzLoader
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        loader = cursor.cursor._tx.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert not isinstance(loader, BaseTzLoader)  # Django's Python loader was not put back per cursor


@pytest.mark.parametrize("text", VALUES)
def test_values_read_back_as_djangos_loader_reads_them(text):
    (fast,) = _load("SELECT %s::timestamptz", [text])[0]
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _django_loader())
        cursor.execute("SELECT %s::timestamptz", [text])
        (django,) = cursor.fetchone()
    assert fast == django
    assert fast.tzinfo is dt.timezone.utc and django.tzinfo is dt.timezone.utc


def test_nulls_and_model_fields_round_trip():
    session = SessionFactory(ended_at=None)
    stored = Session.objects.values_list("started_at", "ended_at").get(pk=session.pk)
    assert stored == (session.started_at, None)
    assert stored[0].tzinfo is dt.timezone.utc


def _django_loader():
    class Utc(BaseTzLoader):
        timezone = dt.timezone.utc

    return Utc
