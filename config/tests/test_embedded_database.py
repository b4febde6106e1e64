"""The embedded PostgreSQL's data directory handling (its start, restart and stop are tested
against a real server in test_service.py)."""
from config.database import EmbeddedPostgres, parse_database_url


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
