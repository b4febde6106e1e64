"""programme_ids: the student's programme ids in code order, maintained beside programme_label
(students.maintained) so an export counts overall_case_studies without a subquery per row.
The first fill reads the enrolments."""
import django.contrib.postgres.fields
from django.db import migrations, models

FILL = """
UPDATE students_student AS s
SET programme_ids = ids.ids
FROM (
    SELECT e.student_id, array_agg(p.id ORDER BY p.code) AS ids
    FROM students_enrolment e JOIN students_programme p ON p.id = e.programme_id
    GROUP BY e.student_id
) AS ids
WHERE s.user_id = ids.student_id
"""


class Migration(migrations.Migration):
    dependencies = [("students", "0007_listed_counts")]

    operations = [
        migrations.AddField(
            model_name="student",
            name="programme_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), blank=True, default=list, db_default=[], editable=False, size=None
            ),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
