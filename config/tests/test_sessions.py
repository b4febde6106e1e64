"""Database sessions with their read compiled once (config.sessions): a live session reads as
Django's store reads it; an expired or unknown one is nobody's, and its key is dropped."""
import datetime as dt

from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.sessions import SessionStore


def _saved(**data):
    store = SessionStore()
    store.update(data)
    store.create()
    return store.session_key


def test_a_live_session_reads_as_djangos_store_reads_it_in_one_statement():
    key = _saved(user="7", theme="dark")
    with CaptureQueriesContext(connection) as queries:
        data = dict(SessionStore(key).items())
    assert len(queries) == 1
    assert data == dict(DjangoStore(key).items()) == {"user": "7", "theme": "dark"}


def test_an_expired_or_unknown_session_is_empty_and_its_key_dropped():
    key = _saved(user="7")
    SessionStore.get_model_class().objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    for missing in (key, "x" * 32):
        store = SessionStore(missing)
        assert dict(store.items()) == {} and store.session_key is None


def test_the_store_writes_as_djangos():
    store = SessionStore(_saved(user="7"))
    store["user"] = "8"
    store.save()
    assert dict(DjangoStore(store.session_key).items()) == {"user": "8"}
