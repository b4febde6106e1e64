from django.db import migrations

# Trigram indexes make ILIKE '%term%' searches on names and email use an index. pg_trgm is a
# contrib extension: present on most PostgreSQL installs, absent from the embedded server,
# so both the extension and the indexes are created only where it is available.
FORWARD = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        CREATE INDEX IF NOT EXISTS stu_name_trgm ON students_student
            USING gin (lower(full_name) public.gin_trgm_ops);
        CREATE INDEX IF NOT EXISTS stu_email_trgm ON students_student
            USING gin (lower(email) public.gin_trgm_ops);
    END IF;
END
$$;
"""
BACKWARD = "DROP INDEX IF EXISTS stu_name_trgm; DROP INDEX IF EXISTS stu_email_trgm;"


class Migration(migrations.Migration):
    dependencies = [("students", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
