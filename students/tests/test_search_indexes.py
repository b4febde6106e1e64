"""Substring search uses trigram indexes on every server we run on, the embedded one included
(its PostgreSQL ships pg_trgm)."""
from django.db import connection

from students.listing.selectors import student_list, student_list_filterset


def _index_names():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        return {row[0] for row in cursor.fetchall()}


def test_trigram_indexes_exist_for_name_and_email():
    assert {"stu_name_trgm", "stu_email_trgm"} <= _index_names()


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
        # Rows inserted since the index was built wait in GIN's pending list, which a search must
        # read in full; autovacuum would merge it, here we do.
        cursor.execute("SELECT gin_clean_pending_list('stu_name_trgm'), gin_clean_pending_list('stu_email_trgm')")
        cursor.execute("ANALYZE students_student")
    plan = student_list(student_list_filterset({"search": "last1234"})).explain()
    assert "stu_name_trgm" in plan and "stu_email_trgm" in plan, plan
    assert "Seq Scan on students_student" not in plan, plan
