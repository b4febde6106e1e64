"""attempts_standing filled from the sessions and the ledger already there, a batch of students
at a time, each in a transaction of its own: the triggers of 0004 already keep every pair a
write touches, and each batch recounts its pairs under the same locks they take
(attempts_standing_refresh), so writes go on while it runs and the two never undo each other.
Nothing reads the table until the release that needs it is started, after every schema's
migrations (README, "Zero-downtime rollout"). Run again, it recounts the same totals."""
from django.db import migrations, transaction

STUDENTS_PER_BATCH = 2000

_NEXT_SQL = """
SELECT max(user_id) FROM (
    SELECT user_id FROM students_student WHERE user_id > %s ORDER BY user_id LIMIT %s
) AS batch"""

_RECOUNT_SQL = """
SELECT attempts_standing_refresh(array_agg(student_id), array_agg(case_study_id)) FROM (
    SELECT student_id, case_study_id FROM attempts_session WHERE student_id > %(after)s AND student_id <= %(upto)s
    UNION
    SELECT student_id, case_study_id FROM attempts_attemptgrant WHERE student_id > %(after)s AND student_id <= %(upto)s
) AS pairs"""


def fill(apps, schema_editor):
    connection = schema_editor.connection
    after = ""
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(_NEXT_SQL, [after, STUDENTS_PER_BATCH])
            upto = cursor.fetchone()[0]
            if upto is None:
                return
            cursor.execute(_RECOUNT_SQL, {"after": after, "upto": upto})
        after = upto


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("attempts", "0004_case_study_standing")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=False)]
