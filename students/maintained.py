"""The student list's maintained columns, recomputed from their sources in one statement.

Call these inside the same transaction as the write that changed the source:
- `programme_label`: after enrolments change or a programme is renamed;
- `last_seen`: after sessions of the student are inserted, updated or deleted.
Both accept `student_ids=None` to recompute for every student (seeding, repair).
"""
from django.db import connection

_PROGRAMME_LABEL_SQL = """
UPDATE students_student AS s
SET programme_label = COALESCE(labels.label, '')
FROM students_student AS target
LEFT JOIN LATERAL (
    SELECT string_agg(p.name, ', ' ORDER BY p.code) AS label
    FROM students_enrolment e
    JOIN students_programme p ON p.id = e.programme_id
    WHERE e.student_id = target.user_id
) AS labels ON TRUE
WHERE s.user_id = target.user_id
  AND s.programme_label IS DISTINCT FROM COALESCE(labels.label, '')
"""

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


def _run(sql, student_ids):
    params = []
    if student_ids is not None:
        student_ids = list(student_ids)
        if not student_ids:
            return 0
        sql += " AND target.user_id = ANY(%s)"
        params.append(student_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def student_refresh_programme_labels(*, student_ids=None):
    """Recompute programme_label (programme names ordered by code, joined with ', ')."""
    return _run(_PROGRAMME_LABEL_SQL, student_ids)


def programme_refresh_labels(*, programme_id):
    """After a programme's name changes: refresh every enrolled student's label."""
    sql = _PROGRAMME_LABEL_SQL + " AND target.user_id IN (SELECT student_id FROM students_enrolment WHERE programme_id = %s)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [programme_id])
        return cursor.rowcount


def students_refresh_last_seen(*, student_ids=None):
    """Recompute last_seen = max(last_activity_at) of the student's sessions (NULL when none)."""
    return _run(_LAST_SEEN_SQL, student_ids)
