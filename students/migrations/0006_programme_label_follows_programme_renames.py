"""A student's programme_label is the names of their programmes ordered by code. The students
app keeps it right when its own enrolments change (students.maintained); when a programme is
renamed or recoded in the catalogue, which knows nothing of students, this trigger refreshes
the labels of the students enrolled in it, in the same statement."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION students_programme_label_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE students_student AS s
    SET programme_label = COALESCE((
        SELECT string_agg(p.name, ', ' ORDER BY p.code)
        FROM students_enrolment e
        JOIN students_programme p ON p.id = e.programme_id
        WHERE e.student_id = s.user_id
    ), '')
    WHERE s.user_id IN (SELECT e.student_id FROM students_enrolment e WHERE e.programme_id = NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER programme_label_refresh
AFTER UPDATE OF name, code ON students_programme
FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.code IS DISTINCT FROM NEW.code)
EXECUTE FUNCTION students_programme_label_refresh();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS programme_label_refresh ON students_programme;
DROP FUNCTION IF EXISTS students_programme_label_refresh();
"""


class Migration(migrations.Migration):
    dependencies = [("students", "0005_programme_moves_to_catalogue")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
