from django.db import migrations

# The list's search also matches the student number (a partial, case-insensitive match, like
# names and email), through a trigram index of its own where the server has pg_trgm; like the
# others it keeps no pending list (migration 0009). Elsewhere the search still works, by a scan.
FORWARD = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS stu_number_trgm ON students_student
            USING gin (lower(student_number) public.gin_trgm_ops) WITH (fastupdate = off)
            WHERE student_number IS NOT NULL;
    END IF;
END
$$;
"""
BACKWARD = "DROP INDEX IF EXISTS stu_number_trgm;"


class Migration(migrations.Migration):
    dependencies = [("students", "0009_search_indexes_without_pending_list")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
