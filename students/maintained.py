"""The student list's `programme_label`, `programme_ids` and `overall_case_studies`,
recomputed from their sources in one statement.

Call `student_refresh_programme_labels` inside the same transaction as the write that changed
a student's enrolments (`student_ids=None` recomputes every student: seeding, repair). The
records service (students.records.services), which writes students' rows itself, has each row
written once with these columns computed in the same statement by the same SQL
(`maintained_columns_sql`): refreshing 50,000 rows after writing them would write every row a
second time, which costs as much as the first (an UPDATE of a row touches all its indexes).
A programme renamed or recoded in the catalogue refreshes its students' labels by itself: a
trigger on the programme table (migration 0006), since the catalogue does not know students;
so do case studies activated, deactivated or given other programmes (migration 0012). The
current text of those trigger functions is migration 0014's, naming the catalogue's tables as
this module's SQL does.
`last_seen`, the other maintained column, is the attempts app's (attempts.maintained).

Concurrent writes keep `overall_case_studies` exact by taking advisory locks per programme,
in programme order, for the rest of their transaction: a case study's programmes or activity
changing takes them exclusively (the trigger's recount, migration 0013), a refresh of
students' programmes takes them shared before its UPDATE. Each side's count is then read after
the other's change has committed, never beside it. A writer that locks an existing student's
row before counting (the records service: an update, the import) takes them first
(`programmes_lock_for_counting`), so that it never holds a row a recount waits for while it
waits for that recount; a new student's row is seen by no recount, so creating one needs
nothing more.

The list's counts (ListedCount) are kept by triggers; `listed_counts_recount` rebuilds them
after a load that ran with triggers off (seeding's bulk mode) or to repair.
"""
from django.db import connection

# The rule (SPEC §4), stated once: joins computing, for the student whose id is the SQL
# expression {student}, their programmes' names ordered by code, their ids in the same order, and
# the active case studies sharing one of them; then each maintained column's value from them.
_RULE_JOINS = """
LEFT JOIN LATERAL (
    SELECT string_agg(p.name, ', ' ORDER BY p.code) AS label, array_agg(p.id ORDER BY p.code) AS ids
    FROM students_enrolment e
    JOIN catalogue_programme p ON p.id = e.programme_id
    WHERE e.student_id = {student}
) AS labels ON TRUE
CROSS JOIN LATERAL (
    SELECT count(DISTINCT cp.casestudy_id) AS n
    FROM catalogue_casestudy_programmes cp
    JOIN catalogue_casestudy c ON c.case_study_id = cp.casestudy_id
    WHERE c.is_active AND cp.programme_id = ANY(COALESCE(labels.ids, '{{}}'))
) AS counted
"""
_RULE_VALUES = {
    "programme_label": "COALESCE(labels.label, '')",
    "programme_ids": "COALESCE(labels.ids, '{}')",
    "overall_case_studies": "counted.n",
}


def maintained_columns_sql(student):
    """(joins, {column: value}): SQL computing the maintained columns of the student whose id is
    the SQL expression `student` (`v.user_id`), from their enrolments, for a statement that
    writes the student's row itself (students.records: many students, each row written once
    rather than written and then refreshed). The joins go into its FROM; the enrolments must be
    written before it, and the programmes' count locks taken (programmes_lock_for_counting)."""
    return _RULE_JOINS.format(student=student), dict(_RULE_VALUES)


_PROGRAMME_LABEL_SQL = (
    "UPDATE students_student AS s\nSET "
    + ", ".join(f"{column} = {value}" for column, value in _RULE_VALUES.items())
    + "\nFROM students_student AS target"
    + _RULE_JOINS.format(student="target.user_id")
    + "WHERE s.user_id = target.user_id\n  AND ("
    + " OR ".join(f"s.{column} IS DISTINCT FROM {value}" for column, value in _RULE_VALUES.items())
    + ")"
)


# The lock of a programme's count in this tenant (advisory locks are per database, so the
# schema is part of the key). Migration 0013's recount takes the same key exclusively.
_LOCK_PROGRAMMES_SQL = """
SELECT pg_advisory_xact_lock_shared(hashtext(current_schema() || '.overall_case_studies'), key)
FROM (SELECT DISTINCT (programme_id %% 2147483647)::int AS key FROM ({programmes}) AS wanted ORDER BY 1) AS keys
"""


def programmes_lock_for_counting(programme_ids):
    """Take the shared count locks of these programmes (students being enrolled in them), in
    order, until the transaction ends: a case study being added to one of them is then
    counted by this transaction or recounts after it, never missed by both."""
    programme_ids = sorted(set(programme_ids))
    if not programme_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_PROGRAMMES_SQL.format(programmes="SELECT unnest(%s::bigint[]) AS programme_id"), [programme_ids]
        )


def _lock_programmes_of_students(student_ids):
    if student_ids is None:
        programmes, params = "SELECT programme_id FROM students_enrolment", []
    else:
        programmes, params = "SELECT programme_id FROM students_enrolment WHERE student_id = ANY(%s)", [student_ids]
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_PROGRAMMES_SQL.format(programmes=programmes), params)


def refresh_students(sql, student_ids):
    """Run a maintained-column UPDATE (aliasing the row to refresh as `target`) for these
    students, or every student when `student_ids` is None. Returns the rows changed."""
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
    """Recompute programme_label (programme names ordered by code, joined with ', '),
    programme_ids (their ids in the same order) and overall_case_studies (the active case
    studies sharing one of them, each counted once)."""
    if student_ids is not None:
        student_ids = list(student_ids)
        if not student_ids:
            return 0
    _lock_programmes_of_students(student_ids)
    return refresh_students(_PROGRAMME_LABEL_SQL, student_ids)


_LISTED_COUNTS_RECOUNT_SQL = """
DELETE FROM students_listedcount;
INSERT INTO students_listedcount (status, listed)
SELECT status, count(*) FROM students_student WHERE NOT archived AND deleted_at IS NULL GROUP BY status;
"""


def listed_counts_recount():
    """Count the listed students per status again, from the students themselves."""
    with connection.cursor() as cursor:
        cursor.execute(_LISTED_COUNTS_RECOUNT_SQL)
