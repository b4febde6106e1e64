"""The embedded PostgreSQL's data directory handling (its start, restart and stop are tested
against a real server in test_service.py)."""
import os
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection
from django.db.utils import ConnectionHandler

from config.database import EmbeddedPostgres, embedded_server_settings, libpq_environment, parse_database_url
from config.env import ConfigError
from testing.live import free_port


def test_a_data_directory_of_another_major_version_is_moved_aside_never_deleted(tmp_path, capsys):
    old = tmp_path / "pgdata"
    old.mkdir()
    (old / "PG_VERSION").write_text("16\n")
    (old / "base").mkdir()
    (old / "base" / "1").write_text("tables")
    EmbeddedPostgres(old)._move_aside_other_version()
    assert not old.exists()
    kept = tmp_path / "pgdata-16.old"
    assert (kept / "base" / "1").read_text() == "tables"
    assert "moved to" in capsys.readouterr().err


def test_a_data_directory_of_the_current_version_stays(tmp_path):
    current = tmp_path / "pgdata"
    current.mkdir()
    (current / "PG_VERSION").write_text("18\n")
    EmbeddedPostgres(current)._move_aside_other_version()
    assert (current / "PG_VERSION").exists()


def test_database_urls_get_a_connect_timeout_and_checked_persistent_connections():
    settings = parse_database_url("postgresql://app:pw@db.internal:6432/console?sslmode=require")
    assert settings["OPTIONS"] == {"connect_timeout": 3, "sslmode": "require"}
    assert settings["CONN_HEALTH_CHECKS"] is True
    assert settings["CONN_MAX_AGE"] == 60
    assert (settings["HOST"], settings["PORT"], settings["NAME"]) == ("db.internal", "6432", "console")


def test_a_url_with_several_hosts_gives_libpq_its_host_and_port_lists():
    settings = parse_database_url(
        "postgresql://app:p%40ss@db-1.internal:5433,[fd00::2]:5434,db-3.internal/console?target_session_attrs=read-write"
    )
    assert (settings["HOST"], settings["PORT"]) == ("db-1.internal,fd00::2,db-3.internal", "5433,5434,")
    assert (settings["USER"], settings["PASSWORD"], settings["NAME"]) == ("app", "p@ss", "console")
    assert settings["OPTIONS"]["target_session_attrs"] == "read-write"
    assert libpq_environment(settings) == {"PGTARGETSESSIONATTRS": "read-write"}


@pytest.mark.parametrize(("url", "host", "port"), [
    ("postgresql://app@[::1]:6432/console", "::1", "6432"),
    ("postgresql://db/console", "db", ""),
    ("postgresql://postgres@/console?host=/run/pg", "/run/pg", ""),
])
def test_a_url_with_one_host_or_a_socket_keeps_its_single_values(url, host, port):
    settings = parse_database_url(url)
    assert (settings["HOST"], settings["PORT"]) == (host, port)
    assert libpq_environment(settings) == {}


def test_an_empty_port_in_the_list_is_libpq_s_default():
    """What libpq itself does with a host given no port among others: 5432 (its default)."""
    settings = parse_database_url("postgresql://app@%2Fnowhere-1:6543,%2Fnowhere-2/console")
    assert (settings["HOST"], settings["PORT"]) == ("/nowhere-1,/nowhere-2", "6543,")
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(host=settings["HOST"], port=settings["PORT"], connect_timeout=2)
    assert "/nowhere-1/.s.PGSQL.6543" in str(refused.value) and "/nowhere-2/.s.PGSQL.5432" in str(refused.value)


@pytest.mark.parametrize("url", ["postgresql://db:port/console", "postgresql://a:5432,b:99999/console"])
def test_a_url_with_a_bad_port_is_refused_at_start_up(url):
    with pytest.raises(ConfigError, match="port"):
        parse_database_url(url)


def test_django_connects_through_a_host_list_to_the_first_that_is_read_write():
    """libpq, through Django's HOST and PORT: the first host listed refuses connections (as a
    dead primary does), so the second, this test run's server, is the one connected."""
    current = connection.settings_dict
    live_host = quote(current["HOST"], safe="") if current["HOST"].startswith("/") else current["HOST"]
    credentials = quote(current["USER"], safe="") + (f":{quote(current['PASSWORD'], safe='')}" if current["PASSWORD"] else "")
    url = (f"postgresql://{credentials}@127.0.0.1:{free_port()},{live_host}:{current['PORT'] or 5432}/{current['NAME']}"
           "?target_session_attrs=read-write")
    settings = parse_database_url(url)
    assert settings["HOST"].count(",") == 1
    handler = ConnectionHandler({"default": settings})
    try:
        with handler["default"].cursor() as cursor:
            cursor.execute("SELECT current_database(), pg_is_in_recovery()")
            assert cursor.fetchone() == (current["NAME"], False)
    finally:
        handler.close_all()


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="the embedded server runs only without DATABASE_URL")
def test_the_embedded_server_runs_with_its_own_memory_and_checkpoint_settings():
    wanted = embedded_server_settings()
    assert 128 <= int(wanted["shared_buffers"].removesuffix("MB")) <= 2048
    with connection.cursor() as cursor:
        for name, value in wanted.items():
            cursor.execute("SELECT current_setting(%s), pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)",
                           [name, name, value])
            in_force, same = cursor.fetchone()
            assert same, f"{name} is {in_force}, not {value}"
