"""`last_seen` of students, the latest `last_activity_at` of their sessions (SPEC §4),
recomputed in one statement. Call it in the same transaction as the write that inserted,
updated or deleted sessions (`student_ids=None` recomputes every student)."""
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


def students_refresh_last_seen(*, student_ids=None):
    """Recompute last_seen = max(last_activity_at) of the student's sessions (NULL when none)."""
    return refresh_students(_LAST_SEEN_SQL, student_ids)
