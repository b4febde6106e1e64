"""The embedded PostgreSQL's data directory handling (its start, restart and stop are tested
against a real server in test_service.py)."""
import os

import pytest
from django.db import connection

from config.database import EmbeddedPostgres, embedded_server_settings, parse_database_url


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
