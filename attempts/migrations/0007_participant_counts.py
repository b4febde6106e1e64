"""How many listed students joined and completed each case study, kept by PostgreSQL, so the
participants dashboard's default page answers its total without reading every participant.

- attempts_standing.listed: whether the pair's student is listed (not archived, not deleted).
  attempts_standing_refresh sets it on the pairs it adds, after locking their students (FOR
  SHARE, in key order): an archive, restore or deletion of one of them then waits for the
  refresh's transaction, or has committed before the refresh reads it. A change of a student's
  listed state sets it on their pairs (a statement-level trigger on students_student).
- attempts_participantcount: per case study, the listed pairs with a session and none graded
  (joined) and with a graded one (completed), as rows whose sums are the counts. A statement
  that writes attempts_standing adds one row per case study whose counts it changed, folding
  into it the rows of that case study no other transaction holds (FOR UPDATE SKIP LOCKED):
  writers never wait for each other on a count, so two transactions that change the counts of
  the same case studies in a different order cannot deadlock, and each case study keeps about
  as many rows as it has concurrent writers.

The counts follow the rows of attempts_standing, whatever writes them: the refresh, a rebuild
(which recounts them once), a student's archive, restore or deletion.

Not atomic, like 0005: the column is added with a default (no rewrite) and the triggers in
short transactions; the listed state of the pairs of students already unlisted is then set in
batches, their students locked as the trigger would, and each case study counted under a
short SHARE lock of attempts_standing (writers of it wait for that one statement). The release
before never reads the new column or table (README, "Zero-downtime rollout")."""
import importlib

from django.db import migrations, models, transaction

standing = importlib.import_module("attempts.migrations.0004_case_study_standing")



def _listed(student):
    """Whether the students_student row `student` (an alias) is listed."""
    return f"(NOT {student}.archived AND {student}.deleted_at IS NULL)"


LISTED = _listed("s")

# The counts a set of attempts_standing rows (alias `r`) adds to each case study: each listed
# pair with a session is joined (none graded) or completed (one graded).
_COUNTED = """SELECT r.case_study_id, (r.completed = 0)::integer AS joined, (r.completed > 0)::integer AS completed
              FROM {rows} r WHERE r.listed AND r.sessions > 0"""

_UNCOUNTED = "SELECT case_study_id, -joined AS joined, -completed AS completed FROM (" + _COUNTED + ") AS u"


def _fold(changes):
    """The statement that adds `changes` (rows of case study, joined, completed) to the counts:
    one row per case study they change, holding their sum and that of the case study's rows no
    other transaction holds, which it deletes."""
    return f"""WITH change AS (
            SELECT case_study_id, sum(joined) AS joined, sum(completed) AS completed
            FROM ({changes}) AS c
            GROUP BY case_study_id HAVING sum(joined) <> 0 OR sum(completed) <> 0
        ), folded AS (
            DELETE FROM attempts_participantcount
            WHERE id IN (
                SELECT id FROM attempts_participantcount
                WHERE case_study_id IN (SELECT case_study_id FROM change)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING case_study_id, joined, completed
        )
        INSERT INTO attempts_participantcount (case_study_id, joined, completed)
        SELECT case_study_id, sum(joined), sum(completed)
        FROM (SELECT * FROM change UNION ALL SELECT * FROM folded) AS c
        GROUP BY case_study_id
        HAVING sum(joined) <> 0 OR sum(completed) <> 0;"""


REFRESH = f"""
CREATE OR REPLACE FUNCTION attempts_standing_refresh(students text[], case_studies text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pair_students text[];
    pair_case_studies text[];
BEGIN
    SELECT array_agg(s), array_agg(c) INTO pair_students, pair_case_studies
    FROM (SELECT DISTINCT s, c FROM unnest(students, case_studies) AS p(s, c)) AS d;
    -- The pairs' students first, in key order, as a session report has already locked them
    -- (attempts.ingestion): their listed state, read below for the pairs added, cannot change
    -- before this transaction ends (attempts 0007).
    PERFORM 1 FROM students_student WHERE user_id = ANY(pair_students) ORDER BY user_id FOR SHARE;
    IF cardinality(pair_students) > 1000 THEN
        PERFORM pg_advisory_xact_lock(1098151028, hashtext(current_schema()));
    ELSE
        PERFORM pg_advisory_xact_lock_shared(1098151028, hashtext(current_schema()));
        PERFORM pg_advisory_xact_lock(1098151027, k)
        FROM (SELECT DISTINCT hashtext(current_schema() || ':' || s || ':' || c) AS k
              FROM unnest(pair_students, pair_case_studies) AS p(s, c)) AS keys
        ORDER BY k;
    END IF;

    WITH pairs AS (
        SELECT * FROM unnest(pair_students, pair_case_studies) AS p(student_id, case_study_id)
    ), fresh AS (
        SELECT p.student_id, p.case_study_id, a.*, coalesce(g.total, 0) AS extra_attempts
        FROM pairs p
        CROSS JOIN LATERAL (
            SELECT {standing._TOTALS}
            FROM attempts_session x WHERE x.student_id = p.student_id AND x.case_study_id = p.case_study_id
        ) AS a
        CROSS JOIN LATERAL (
            SELECT sum(g.delta)::integer AS total
            FROM attempts_attemptgrant g WHERE g.student_id = p.student_id AND g.case_study_id = p.case_study_id
        ) AS g
    ), gone AS (
        DELETE FROM attempts_standing st USING fresh f
        WHERE st.student_id = f.student_id AND st.case_study_id = f.case_study_id
          AND f.sessions = 0 AND f.extra_attempts = 0
    )
    INSERT INTO attempts_standing AS st (student_id, case_study_id, {standing._COLUMNS}, listed)
    SELECT f.student_id, f.case_study_id, {", ".join(f"f.{c}" for c in standing._COLUMNS.split(", "))},
           EXISTS (SELECT 1 FROM students_student s WHERE s.user_id = f.student_id AND {LISTED})
    FROM fresh f
    WHERE f.sessions > 0 OR f.extra_attempts <> 0
    ORDER BY f.student_id, f.case_study_id
    ON CONFLICT (student_id, case_study_id) DO UPDATE SET {standing._UPDATE}
    WHERE {standing._CHANGED};
END
$$;
"""

REBUILD = f"""
CREATE OR REPLACE FUNCTION attempts_standing_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- No refresh runs beside it (theirs write rows of this table); the counts are recounted
    -- once at the end, not followed row by row.
    LOCK TABLE attempts_standing IN SHARE ROW EXCLUSIVE MODE;
    PERFORM set_config('attempts.participantcount_recount', 'on', true);
    DELETE FROM attempts_standing;
    INSERT INTO attempts_standing (student_id, case_study_id, {standing._COLUMNS}, listed)
    SELECT t.*, EXISTS (SELECT 1 FROM students_student s WHERE s.user_id = t.student_id AND {LISTED})
    FROM (
        SELECT student_id, case_study_id, coalesce(a.sessions, 0), coalesce(a.attempts_used, 0), coalesce(a.completed, 0),
               a.graded_scores, a.best_score, a.joined_at, a.last_active_at, coalesce(g.total, 0)
        FROM (
            SELECT x.student_id, x.case_study_id, {standing._TOTALS}
            FROM attempts_session x GROUP BY x.student_id, x.case_study_id
        ) AS a
        FULL JOIN (
            SELECT g.student_id, g.case_study_id, sum(g.delta)::integer AS total
            FROM attempts_attemptgrant g GROUP BY g.student_id, g.case_study_id HAVING sum(g.delta) <> 0
        ) AS g USING (student_id, case_study_id)
    ) AS t;
    PERFORM attempts_participantcount_recount(NULL);
    PERFORM set_config('attempts.participantcount_recount', 'off', true);
END
$$;
"""

COUNTS = f"""
CREATE OR REPLACE FUNCTION attempts_participantcount_recount(only_case_study text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Under a lock that keeps writers of attempts_standing out (its caller's).
    DELETE FROM attempts_participantcount WHERE only_case_study IS NULL OR case_study_id = only_case_study;
    INSERT INTO attempts_participantcount (case_study_id, joined, completed)
    SELECT c.case_study_id, sum(c.joined), sum(c.completed)
    FROM ({_COUNTED.format(rows="attempts_standing")}) AS c
    WHERE only_case_study IS NULL OR c.case_study_id = only_case_study
    GROUP BY c.case_study_id;
END
$$;

CREATE OR REPLACE FUNCTION attempts_participantcount_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('attempts.participantcount_recount', true) = 'on' THEN
        RETURN NULL;  -- attempts_standing_rebuild recounts them at its end
    END IF;
    IF TG_OP = 'INSERT' THEN
        {_fold(_COUNTED.format(rows="new_rows"))}
    ELSIF TG_OP = 'DELETE' THEN
        {_fold(_UNCOUNTED.format(rows="old_rows"))}
    ELSE
        {_fold(_COUNTED.format(rows="new_rows") + " UNION ALL " + _UNCOUNTED.format(rows="old_rows"))}
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION attempts_participantcount_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM attempts_participantcount;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION attempts_standing_students_listed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE attempts_standing st SET listed = changed.listed
    FROM (
        SELECT n.user_id, {_listed("n")} AS listed
        FROM new_rows n JOIN old_rows o USING (user_id)
        WHERE {_listed("n")} IS DISTINCT FROM {_listed("o")}
    ) AS changed
    WHERE st.student_id = changed.user_id AND st.listed IS DISTINCT FROM changed.listed;
    RETURN NULL;
END
$$;

CREATE TRIGGER participantcount_insert AFTER INSERT ON attempts_standing
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_participantcount_apply();
CREATE TRIGGER participantcount_update AFTER UPDATE ON attempts_standing
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_participantcount_apply();
CREATE TRIGGER participantcount_delete AFTER DELETE ON attempts_standing
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_participantcount_apply();
CREATE TRIGGER participantcount_truncate AFTER TRUNCATE ON attempts_standing
FOR EACH STATEMENT EXECUTE FUNCTION attempts_participantcount_reset();
CREATE TRIGGER standing_students_listed AFTER UPDATE ON students_student
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_students_listed();
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS standing_students_listed ON students_student;
DROP TRIGGER IF EXISTS participantcount_insert ON attempts_standing;
DROP TRIGGER IF EXISTS participantcount_update ON attempts_standing;
DROP TRIGGER IF EXISTS participantcount_delete ON attempts_standing;
DROP TRIGGER IF EXISTS participantcount_truncate ON attempts_standing;
DROP FUNCTION IF EXISTS attempts_standing_students_listed();
DROP FUNCTION IF EXISTS attempts_participantcount_reset();
DROP FUNCTION IF EXISTS attempts_participantcount_apply();
{standing.FORWARD.split("CREATE OR REPLACE FUNCTION attempts_standing_written()")[0]}
DROP FUNCTION IF EXISTS attempts_participantcount_recount(text);
"""

STUDENTS_PER_BATCH = 2000

_UNLISTED_SQL = f"""
WITH batch AS (
    SELECT s.user_id FROM students_student s
    WHERE s.user_id > %s AND NOT {LISTED}
    ORDER BY s.user_id LIMIT %s
    FOR SHARE
), marked AS (
    UPDATE attempts_standing st SET listed = false
    FROM batch WHERE st.student_id = batch.user_id AND st.listed
)
SELECT max(user_id) FROM batch"""


def fill(apps, schema_editor):
    """The pairs of students unlisted before the trigger, then each case study's counts."""
    connection = schema_editor.connection
    after = ""
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(_UNLISTED_SQL, [after, STUDENTS_PER_BATCH])
            after = cursor.fetchone()[0]
        if after is None:
            break
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT case_study_id FROM attempts_standing ORDER BY 1")
        case_studies = [case_study_id for (case_study_id,) in cursor.fetchall()]
    for case_study_id in case_studies:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("LOCK TABLE attempts_standing IN SHARE MODE")
            cursor.execute("SELECT attempts_participantcount_recount(%s)", [case_study_id])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("attempts", "0006_standing_index_by_case_study"),
        ("students", "0016_import_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="casestudystanding",
            name="listed",
            field=models.BooleanField(db_default=True),
        ),
        migrations.CreateModel(
            name="ParticipantCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("case_study_id", models.CharField(max_length=64)),
                ("joined", models.BigIntegerField()),
                ("completed", models.BigIntegerField()),
            ],
            options={
                "db_table": "attempts_participantcount",
                "indexes": [models.Index(fields=["case_study_id"], name="participantcount_case_study")],
            },
        ),
        migrations.RunSQL(COUNTS + REFRESH + REBUILD, BACKWARD),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
