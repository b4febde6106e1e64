"""Expand only: a nullable column (no default, so no table rewrite and only a brief lock) and
an index built without blocking writes. Code of the release before never names the column, so
it serves a tenant before and after this runs."""
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("students", "0014_functions_name_catalogue_tables")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE students_student ADD COLUMN IF NOT EXISTS rollout_probe text NULL",
            "ALTER TABLE students_student DROP COLUMN IF EXISTS rollout_probe",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS students_student_rollout_probe "
            "ON students_student (rollout_probe)",
            "DROP INDEX CONCURRENTLY IF EXISTS students_student_rollout_probe",
        ),
    ]
