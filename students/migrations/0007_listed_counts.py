"""The console list's total without a count over every student: students_listedcount holds
how many listed students (not archived, not deleted) have each status, kept exact by
statement-level triggers on students_student (one upsert per statement, however many rows it
wrote; rows are locked in status order, so concurrent writers queue instead of deadlocking).
The first fill counts what is there."""
from django.db import migrations, models

LISTED = "NOT archived AND deleted_at IS NULL"

FORWARD = f"""
CREATE OR REPLACE FUNCTION students_listedcount_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO students_listedcount AS c (status, listed)
        SELECT status, count(*) FROM new_rows WHERE {LISTED} GROUP BY status ORDER BY status
        ON CONFLICT (status) DO UPDATE SET listed = c.listed + EXCLUDED.listed;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO students_listedcount AS c (status, listed)
        SELECT status, -count(*) FROM old_rows WHERE {LISTED} GROUP BY status ORDER BY status
        ON CONFLICT (status) DO UPDATE SET listed = c.listed + EXCLUDED.listed;
    ELSE
        INSERT INTO students_listedcount AS c (status, listed)
        SELECT status, sum(delta) FROM (
            SELECT status, 1 AS delta FROM new_rows WHERE {LISTED}
            UNION ALL
            SELECT status, -1 AS delta FROM old_rows WHERE {LISTED}
        ) AS changes
        GROUP BY status HAVING sum(delta) <> 0 ORDER BY status
        ON CONFLICT (status) DO UPDATE SET listed = c.listed + EXCLUDED.listed;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION students_listedcount_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM students_listedcount;
    RETURN NULL;
END
$$;

CREATE TRIGGER listedcount_insert AFTER INSERT ON students_student
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION students_listedcount_apply();
CREATE TRIGGER listedcount_update AFTER UPDATE ON students_student
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION students_listedcount_apply();
CREATE TRIGGER listedcount_delete AFTER DELETE ON students_student
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION students_listedcount_apply();
CREATE TRIGGER listedcount_truncate AFTER TRUNCATE ON students_student
FOR EACH STATEMENT EXECUTE FUNCTION students_listedcount_reset();

INSERT INTO students_listedcount (status, listed)
SELECT status, count(*) FROM students_student WHERE {LISTED} GROUP BY status;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS listedcount_insert ON students_student;
DROP TRIGGER IF EXISTS listedcount_update ON students_student;
DROP TRIGGER IF EXISTS listedcount_delete ON students_student;
DROP TRIGGER IF EXISTS listedcount_truncate ON students_student;
DROP FUNCTION IF EXISTS students_listedcount_apply();
DROP FUNCTION IF EXISTS students_listedcount_reset();
"""


class Migration(migrations.Migration):
    dependencies = [("students", "0006_programme_label_follows_programme_renames")]
    operations = [
        migrations.CreateModel(
            name="ListedCount",
            fields=[
                ("status", models.CharField(max_length=16, primary_key=True, serialize=False)),
                ("listed", models.BigIntegerField(default=0)),
            ],
            options={"db_table": "students_listedcount"},
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
