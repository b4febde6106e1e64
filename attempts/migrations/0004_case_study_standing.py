"""attempts_standing: each student's totals on each case study, kept by statement-level
triggers on the sessions and the grant ledger (attempts.standing says what reads them).

Every statement that writes sessions or ledger rows recomputes, at its end and in its
transaction, the pairs (student, case study) it touched, from their rows: one statement for
all of them, however many rows it wrote. The pairs are locked first (advisory locks in key
order, so two writers of one pair queue and never deadlock on it; beyond 1,000 pairs, one
lock for the tenant's table), and the recount is a statement of its own, whose snapshot then
holds what the other writer committed; in one statement it would count what it saw before
waiting and write that over the other's.

This migration holds the sessions and the ledger only for the moment it adds the triggers;
0005 fills the table from the rows already there, in batches, while the release before
serves (README, "Zero-downtime rollout").

The rules are SPEC §4's, as attempts.models states them: a session consumes an attempt
unless its transcript is `missing` or `failed`; it counts as graded when its grading is
`complete` (with a score, for the scores). A later change to them is a new migration that
replaces attempts_standing_refresh and attempts_standing_rebuild and fills the table again
as 0005 does."""
import django.contrib.postgres.fields
from django.db import migrations, models

# A pair's values from its sessions (alias `x`): in the refresh, one pair's; in the rebuild,
# every pair's, grouped.
_TOTALS = """count(*) AS sessions,
           count(*) FILTER (WHERE x.transcript_status NOT IN ('missing', 'failed')) AS attempts_used,
           count(*) FILTER (WHERE x.grading_status = 'complete') AS completed,
           array_agg(x.score ORDER BY x.started_at, x.session_id)
               FILTER (WHERE x.grading_status = 'complete' AND x.score IS NOT NULL) AS graded_scores,
           max(x.score) FILTER (WHERE x.grading_status = 'complete') AS best_score,
           min(x.started_at) AS joined_at,
           max(x.last_activity_at) AS last_active_at"""
_COLUMNS = "sessions, attempts_used, completed, graded_scores, best_score, joined_at, last_active_at, extra_attempts"
_UPDATE = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS.split(", "))
_CHANGED = (
    "(" + ", ".join(f"st.{c}" for c in _COLUMNS.split(", ")) + ") IS DISTINCT FROM ("
    + ", ".join(f"EXCLUDED.{c}" for c in _COLUMNS.split(", ")) + ")"
)

FORWARD = f"""
CREATE OR REPLACE FUNCTION attempts_standing_refresh(students text[], case_studies text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pair_students text[];
    pair_case_studies text[];
BEGIN
    -- The distinct pairs, once: a statement names a pair once per row it wrote.
    SELECT array_agg(s), array_agg(c) INTO pair_students, pair_case_studies
    FROM (SELECT DISTINCT s, c FROM unnest(students, case_studies) AS p(s, c)) AS d;
    -- 0x41747453 and 0x41747454: this table's advisory lock namespaces, a pair's and the
    -- tenant's. A statement of many pairs (the first fill, a large load) takes the tenant's
    -- exclusively, not a lock per pair, which would fill the server's lock table; others take
    -- it shared, then their pairs' in key order (volatile functions in the select list run
    -- after ORDER BY). A collision of two pairs' keys only makes them queue.
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
            SELECT {_TOTALS}
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
    INSERT INTO attempts_standing AS st (student_id, case_study_id, {_COLUMNS})
    SELECT student_id, case_study_id, {_COLUMNS} FROM fresh
    WHERE sessions > 0 OR extra_attempts <> 0
    ORDER BY student_id, case_study_id
    ON CONFLICT (student_id, case_study_id) DO UPDATE SET {_UPDATE}
    WHERE {_CHANGED};
END
$$;

CREATE OR REPLACE FUNCTION attempts_standing_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- No refresh runs beside it (theirs write rows of this table).
    LOCK TABLE attempts_standing IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM attempts_standing;
    INSERT INTO attempts_standing (student_id, case_study_id, {_COLUMNS})
    SELECT student_id, case_study_id, coalesce(a.sessions, 0), coalesce(a.attempts_used, 0), coalesce(a.completed, 0),
           a.graded_scores, a.best_score, a.joined_at, a.last_active_at, coalesce(g.total, 0)
    FROM (
        SELECT x.student_id, x.case_study_id, {_TOTALS}
        FROM attempts_session x GROUP BY x.student_id, x.case_study_id
    ) AS a
    FULL JOIN (
        SELECT g.student_id, g.case_study_id, sum(g.delta)::integer AS total
        FROM attempts_attemptgrant g GROUP BY g.student_id, g.case_study_id HAVING sum(g.delta) <> 0
    ) AS g USING (student_id, case_study_id);
END
$$;

CREATE OR REPLACE FUNCTION attempts_standing_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A bulk load that rebuilds the table after it (attempts.standing.STANDING_DEFERRED_SQL).
    IF current_setting('attempts.standing_deferred', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM attempts_standing_refresh(array_agg(n.student_id), array_agg(n.case_study_id)) FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM attempts_standing_refresh(array_agg(o.student_id), array_agg(o.case_study_id)) FROM old_rows o;
    ELSIF TG_TABLE_NAME = 'attempts_attemptgrant' THEN
        PERFORM attempts_standing_refresh(array_agg(p.student_id), array_agg(p.case_study_id))
        FROM (SELECT student_id, case_study_id FROM old_rows UNION SELECT student_id, case_study_id FROM new_rows) AS p;
    ELSE
        -- Only the sessions whose counted values changed (an update of a transcript alone, or
        -- of updated_at, changes no total), on their old pair and their new one; and a
        -- session whose id changed, on both too.
        PERFORM attempts_standing_refresh(array_agg(changed.s), array_agg(changed.c))
        FROM (
            SELECT o.student_id AS s, o.case_study_id AS c, n.student_id AS ns, n.case_study_id AS nc
            FROM old_rows o FULL JOIN new_rows n USING (session_id)
            WHERE (o.student_id, o.case_study_id, o.transcript_status, o.grading_status, o.score, o.started_at,
                   o.last_activity_at)
                  IS DISTINCT FROM
                  (n.student_id, n.case_study_id, n.transcript_status, n.grading_status, n.score, n.started_at,
                   n.last_activity_at)
        ) AS pairs
        CROSS JOIN LATERAL (VALUES (pairs.s, pairs.c), (pairs.ns, pairs.nc)) AS changed(s, c)
        WHERE changed.s IS NOT NULL
        HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION attempts_standing_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM attempts_standing_rebuild();
    RETURN NULL;
END
$$;

CREATE TRIGGER standing_sessions_insert AFTER INSERT ON attempts_session
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_written();
CREATE TRIGGER standing_sessions_update AFTER UPDATE ON attempts_session
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_written();
CREATE TRIGGER standing_sessions_delete AFTER DELETE ON attempts_session
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_written();
CREATE TRIGGER standing_sessions_truncate AFTER TRUNCATE ON attempts_session
FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_truncated();
CREATE TRIGGER standing_ledger_insert AFTER INSERT ON attempts_attemptgrant
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_written();
CREATE TRIGGER standing_ledger_update AFTER UPDATE ON attempts_attemptgrant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_written();
CREATE TRIGGER standing_ledger_delete AFTER DELETE ON attempts_attemptgrant
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_written();
CREATE TRIGGER standing_ledger_truncate AFTER TRUNCATE ON attempts_attemptgrant
FOR EACH STATEMENT EXECUTE FUNCTION attempts_standing_truncated();

"""

BACKWARD = """
DROP TRIGGER IF EXISTS standing_sessions_insert ON attempts_session;
DROP TRIGGER IF EXISTS standing_sessions_update ON attempts_session;
DROP TRIGGER IF EXISTS standing_sessions_delete ON attempts_session;
DROP TRIGGER IF EXISTS standing_sessions_truncate ON attempts_session;
DROP TRIGGER IF EXISTS standing_ledger_insert ON attempts_attemptgrant;
DROP TRIGGER IF EXISTS standing_ledger_update ON attempts_attemptgrant;
DROP TRIGGER IF EXISTS standing_ledger_delete ON attempts_attemptgrant;
DROP TRIGGER IF EXISTS standing_ledger_truncate ON attempts_attemptgrant;
DROP FUNCTION IF EXISTS attempts_standing_written();
DROP FUNCTION IF EXISTS attempts_standing_truncated();
DROP FUNCTION IF EXISTS attempts_standing_rebuild();
DROP FUNCTION IF EXISTS attempts_standing_refresh(text[], text[]);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("attempts", "0003_case_study_moves_to_catalogue"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseStudyStanding",
            fields=[
                ("pk", models.CompositePrimaryKey("student_id", "case_study_id", blank=True, editable=False, primary_key=True, serialize=False)),
                ("student_id", models.CharField(max_length=64)),
                ("case_study_id", models.CharField(max_length=64)),
                ("sessions", models.IntegerField()),
                ("attempts_used", models.IntegerField()),
                ("completed", models.IntegerField()),
                ("graded_scores", django.contrib.postgres.fields.ArrayField(base_field=models.FloatField(), null=True, size=None)),
                ("best_score", models.FloatField(null=True)),
                ("joined_at", models.DateTimeField(null=True)),
                ("last_active_at", models.DateTimeField(null=True)),
                ("extra_attempts", models.IntegerField()),
            ],
            options={
                "db_table": "attempts_standing",
                "indexes": [models.Index(fields=["case_study_id", "student_id"], name="standing_cs_student")],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
