"""The recount of overall_case_studies (migration 0012) takes each programme's count lock
exclusively, in programme order, before it reads and writes: two case studies added to one
programme at once, or a case study added while a student is enrolled in its programme
(students.maintained takes the same locks shared), are then counted one after the other.

Before, both transactions counted without seeing the other's uncommitted row, so the later one
wrote a count one short, and two recounts updating the same students in different orders could
deadlock."""
import importlib

from django.db import migrations

previous = importlib.import_module("students.migrations.0012_overall_case_studies_maintained")

RECOUNT = f"""
CREATE OR REPLACE FUNCTION students_overall_case_studies_recount(programmes bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.overall_case_studies'), key)
    FROM (SELECT DISTINCT (p % 2147483647)::int AS key FROM unnest(programmes) AS p ORDER BY 1) AS keys;
    -- A new statement, so a new snapshot: it sees what the transactions it waited for committed.
    UPDATE students_student AS s
    SET overall_case_studies = {previous.COUNT}
    WHERE s.programme_ids && programmes
      AND s.overall_case_studies IS DISTINCT FROM {previous.COUNT};
END
$$;
"""

RECOUNT_BEFORE = f"""
CREATE OR REPLACE FUNCTION students_overall_case_studies_recount(programmes bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE students_student AS s
    SET overall_case_studies = {previous.COUNT}
    WHERE s.programme_ids && programmes
      AND s.overall_case_studies IS DISTINCT FROM {previous.COUNT};
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("students", "0012_overall_case_studies_maintained")]

    operations = [migrations.RunSQL(RECOUNT, RECOUNT_BEFORE)]
