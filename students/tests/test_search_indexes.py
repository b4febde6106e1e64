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


def test_search_matches_the_student_number_in_part_and_the_user_id_whole():
    sis = StudentFactory(student_number="MIVA/2026/00417")
    plain = StudentFactory(student_number=None)
    StudentFactory(student_number="MIVA/2025/99999")

    def found(term):
        return {s.pk for s in student_list(student_list_filterset({"search": term}))}

    assert found("2026/004") == {sis.pk}
    assert found("miva/2026") == {sis.pk}
    assert found(plain.pk) == {plain.pk}
    assert found(plain.pk[:10]) == set()  # an id is matched whole, never a few hex digits of it


def test_the_student_number_index_exists_and_keeps_no_pending_list():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reloptions FROM pg_class c WHERE c.relname = 'stu_number_trgm' "
            "AND c.relnamespace = current_schema()::regnamespace"
        )
        assert cursor.fetchall() == [(["fastupdate=off"],)]
