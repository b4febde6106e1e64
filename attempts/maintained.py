"""`last_seen` of students, the latest `last_activity_at` of their sessions (SPEC §4),
recomputed in one statement. Call it in the same transaction as the write that inserted,
updated or deleted sessions (`student_ids=None` recomputes every student)."""
from django.db import connection

from students.maintained import refresh_students

_LAST_SEEN_SQL = """
UPDATE students_student AS s
SET last_seen = seen.value
FROM students_student AS target
LEFT JOIN LATERAL (
    SELECT max(x.last_activity_at) AS value
    FROM attempts_session x
    WHERE x.student_id = target.user_id
) AS seen ON TRUE
WHERE s.user_id = target.user_id
  AND s.last_seen IS DISTINCT FROM seen.value
"""


_LOCK_SQL = "SELECT 1 FROM students_student WHERE user_id = ANY(%s) ORDER BY user_id FOR NO KEY UPDATE"


def students_refresh_last_seen(*, student_ids=None):
    """Recompute last_seen = max(last_activity_at) of the student's sessions (NULL when none).

    The students' rows are locked first, in key order, by a statement of their own: the
    UPDATE that follows then reads the sessions after any other writer of these students has
    committed. In one statement it would read the maximum before waiting for such a writer's
    row lock and then write that older value over the writer's."""
    if student_ids is not None:
        student_ids = list(student_ids)
        if not student_ids:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL, [student_ids])
    return refresh_students(_LAST_SEEN_SQL, student_ids)
