"""overall_case_studies (active case studies sharing a programme with the student) becomes a
maintained column, so the console list can sort by it from an index, and the list, detail and
export read it instead of computing it.

The students app keeps it with programme_ids when a student's enrolments change
(students.maintained). The catalogue, which knows nothing of students, changes it in two ways,
each followed here by a trigger that recounts the students of the programmes concerned:
- a case study activated or deactivated (its programmes' students);
- a case study's programmes added or removed, which is also how a new case study gets its
  programmes and how a deleted one loses them (the programmes' students).
"""
import django.contrib.postgres.indexes
from django.db import migrations, models

COUNT = """(
    SELECT count(DISTINCT cp.casestudy_id)
    FROM attempts_casestudy_programmes cp
    JOIN attempts_casestudy c ON c.case_study_id = cp.casestudy_id
    WHERE c.is_active AND cp.programme_id = ANY(s.programme_ids)
)"""

FILL = f"UPDATE students_student AS s SET overall_case_studies = {COUNT} WHERE s.programme_ids <> '{{}}'"

TRIGGERS = f"""
CREATE OR REPLACE FUNCTION students_overall_case_studies_recount(programmes bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE students_student AS s
    SET overall_case_studies = {COUNT}
    WHERE s.programme_ids && programmes
      AND s.overall_case_studies IS DISTINCT FROM {COUNT};
$$;

CREATE OR REPLACE FUNCTION students_case_study_activity_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM students_overall_case_studies_recount(ARRAY(
        SELECT programme_id FROM attempts_casestudy_programmes WHERE casestudy_id = NEW.case_study_id
    ));
    RETURN NULL;
END
$$;

CREATE TRIGGER case_study_activity_recount
AFTER UPDATE OF is_active ON attempts_casestudy
FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)
EXECUTE FUNCTION students_case_study_activity_changed();

CREATE OR REPLACE FUNCTION students_case_study_programmes_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM students_overall_case_studies_recount(ARRAY(SELECT DISTINCT programme_id FROM changed));
    RETURN NULL;
END
$$;

CREATE TRIGGER case_study_programmes_added_recount
AFTER INSERT ON attempts_casestudy_programmes
REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION students_case_study_programmes_added();

CREATE TRIGGER case_study_programmes_removed_recount
AFTER DELETE ON attempts_casestudy_programmes
REFERENCING OLD TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION students_case_study_programmes_added();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS case_study_activity_recount ON attempts_casestudy;
DROP TRIGGER IF EXISTS case_study_programmes_added_recount ON attempts_casestudy_programmes;
DROP TRIGGER IF EXISTS case_study_programmes_removed_recount ON attempts_casestudy_programmes;
DROP FUNCTION IF EXISTS students_case_study_activity_changed();
DROP FUNCTION IF EXISTS students_case_study_programmes_added();
DROP FUNCTION IF EXISTS students_overall_case_studies_recount(bigint[]);
"""

LISTED = models.Q(("archived", False), ("deleted_at__isnull", True))


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
        ("students", "0011_archived_students_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="student",
            name="overall_case_studies",
            field=models.IntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="student",
            index=models.Index(
                models.OrderBy(models.F("overall_case_studies"), descending=True),
                models.F("user_id"),
                condition=LISTED,
                name="stu_cases_desc",
            ),
        ),
        migrations.AddIndex(
            model_name="student",
            index=models.Index(models.F("overall_case_studies"), models.F("user_id"), condition=LISTED, name="stu_cases_asc"),
        ),
        migrations.AddIndex(
            model_name="student",
            index=django.contrib.postgres.indexes.GinIndex(models.F("programme_ids"), fastupdate=False, name="stu_programme_ids"),
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
