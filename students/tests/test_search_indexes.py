"""Substring search uses trigram indexes on every server we run on, the embedded one included
(its PostgreSQL ships pg_trgm)."""
from django.db import connection

from students.listing.selectors import student_list, student_list_filterset
from testing.factories import StudentFactory


def _index_names():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        return {row[0] for row in cursor.fetchall()}


def test_trigram_indexes_exist_for_name_and_email():
    assert {"stu_name_trgm", "stu_email_trgm"} <= _index_names()


def test_the_trigram_indexes_keep_no_pending_list():
    """New entries go straight into the index (fastupdate off, migration 0009): a search never
    reads a queue of recent writes, so its cost does not depend on how busy the tenant is."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relname IN ('stu_name_trgm', 'stu_email_trgm') "
            "AND c.relnamespace = current_schema()::regnamespace"
        )
        options = dict(cursor.fetchall())
    assert options == {"stu_name_trgm": ["fastupdate=off"], "stu_email_trgm": ["fastupdate=off"]}
    StudentFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE students_student SET last_seen = now()")
        assert cursor.rowcount == 3
        cursor.execute("SELECT gin_clean_pending_list('stu_name_trgm') + gin_clean_pending_list('stu_email_trgm')")
        assert cursor.fetchone() == (0,)  # nothing was queued


def test_a_search_on_a_large_table_reads_the_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO students_student
                (user_id, first_name, last_name, email, status, enrollment_status, archived, avatar,
                 programme_label, created_at, updated_at)
            SELECT lpad(to_hex(n), 24, '0'), 'First' || n, 'Last' || n, 'student' || n || '@uni.example',
                   'active', 'enrolled', false, '', '', now(), now()
            FROM generate_series(1, 20000) AS n
            """
        )
        cursor.execute("ANALYZE students_student")
    plan = student_list(student_list_filterset({"search": "last1234"})).explain()
    assert "stu_name_trgm" in plan and "stu_email_trgm" in plan, plan
    assert "Seq Scan on students_student" not in plan, plan
