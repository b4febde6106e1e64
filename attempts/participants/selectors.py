"""The participants of one case study (SPEC §7.7): who was invited, who joined, who completed.

A participant is a listed student (not archived, not deleted) who either has a session on
the case study or is assigned to it through a shared programme. Their `join_status`:
- `invited`: assigned (programme overlap) and no session yet;
- `joined`: at least one session, none graded;
- `completed`: at least one graded session (grading_status complete).

A page and its total are one SQL statement: each student's totals on the case study, kept
per pair by PostgreSQL (attempts.standing), joined to the students; nothing is aggregated
from sessions and nothing computed per row with another query. The same
selector feeds the JSON dashboard and the HTML participants tab.

Without a search, for those who joined or completed it (the default) and sorted by anything
but the name, the page is read from the case study's totals alone, which say whether their
student is listed, and only its rows are joined to the students; its total is the case
study's kept counts (attempts.models.ParticipantCount), not a count of its participants.
"""
from dataclasses import dataclass

from django.db import connection

from attempts.models import AttemptGrant, CaseStudyStanding, ParticipantCount
from catalogue.models import CaseStudy
from config.errors import AppError
from config.query import normalise_text
from config.replicas import reads_connection
from students.models import NAME_COLLATION, Enrolment, Student

INVITED = "invited"
JOINED = "joined"
COMPLETED = "completed"
STATUSES = (INVITED, JOINED, COMPLETED)
DEFAULT_STATUSES = (JOINED, COMPLETED)

ORDERING_KEYS = ("joined_at", "last_active_at", "name", "best_score")
ORDERINGS = ORDERING_KEYS + tuple(f"-{key}" for key in ORDERING_KEYS)
DEFAULT_ORDERING = "-joined_at"

LIMIT_DEFAULT = 20
LIMIT_MAX = 100
SEARCH_MAX_LENGTH = 200

MSG_UNKNOWN_STATUSES = "Unknown status: {values}. Use invited, joined or completed."
MSG_UNKNOWN_ORDERING = "Unknown ordering: {value}. Use joined_at, last_active_at, name or best_score, optionally with -."

# The expression each ordering key sorts on (the totals as `agg`, the student as `s`).
_SORT_EXPRESSIONS = {
    "joined_at": "agg.joined_at",
    "last_active_at": "agg.last_active_at",
    "name": f"lower(s.full_name) COLLATE \"{NAME_COLLATION}\"",
    "best_score": "agg.best_score",
}

# Each student's totals on the case study, maintained per pair (attempts.standing): a row per
# student with a session there.
_WITH_AGG_SQL = """
WITH agg AS (
    SELECT st.student_id, st.joined_at, st.last_active_at, st.attempts_used,
           st.completed AS graded_attempts, st.best_score
    FROM {standing} st
    WHERE st.case_study_id = %(case_study_id)s AND st.sessions > 0
)"""

_FROM_SQL = """
FROM {student} s
{agg_join} JOIN agg ON agg.student_id = s.user_id
WHERE NOT s.archived AND s.deleted_at IS NULL
  AND ({status_condition})
  {search_condition}"""

_ASSIGNED_SQL = """s.user_id IN (
    SELECT e.student_id
    FROM {enrolment} e
    JOIN {case_study_programmes} cp ON cp.programme_id = e.programme_id
    WHERE cp.casestudy_id = %(case_study_id)s
)"""

_STATUS_CONDITIONS = {
    INVITED: "(agg.student_id IS NULL AND {assigned})",
    JOINED: "(agg.student_id IS NOT NULL AND agg.graded_attempts = 0)",
    COMPLETED: "(agg.graded_attempts > 0)",
}

_PAGE_SQL = """
{with_agg}
SELECT s.user_id, s.full_name, s.email,
       agg.student_id IS NOT NULL AS started,
       agg.joined_at, agg.last_active_at,
       coalesce(agg.attempts_used, 0) AS attempts_used,
       coalesce(agg.graded_attempts, 0) AS graded_attempts,
       agg.best_score,
       count(*) OVER () AS total_count,
       coalesce((
           SELECT sum(g.delta) FROM {grant} g
           WHERE g.student_id = s.user_id AND g.case_study_id = %(case_study_id)s
       ), 0) AS extra_attempts{from_sql}
ORDER BY {order_by}
LIMIT %(limit)s OFFSET %(offset)s
"""


# A page of those who joined or completed, without a search or the name's order: read from the
# case study's totals (`st`, whose `listed` says their student is listed), then joined to its
# students; its total is the case study's kept counts.
_COUNTED_PAGE_SQL = """
SELECT s.user_id, s.full_name, s.email, true AS started,
       agg.joined_at, agg.last_active_at, agg.attempts_used, agg.graded_attempts, agg.best_score,
       agg.extra_attempts, ({count_sql}) AS total_count
FROM (
    SELECT st.student_id, st.joined_at, st.last_active_at, st.attempts_used,
           st.completed AS graded_attempts, st.best_score, st.extra_attempts
    FROM {standing} st
    WHERE st.case_study_id = %(case_study_id)s AND st.listed AND st.sessions > 0 {status_condition}
    ORDER BY {inner_order_by}
    LIMIT %(limit)s OFFSET %(offset)s
) AS agg
JOIN {student} s ON s.user_id = agg.student_id AND NOT s.archived AND s.deleted_at IS NULL
ORDER BY {order_by}
"""

_COUNTED_STATUS_CONDITIONS = {
    frozenset({JOINED, COMPLETED}): "",
    frozenset({JOINED}): "AND st.completed = 0",
    frozenset({COMPLETED}): "AND st.completed > 0",
}


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


def parse_statuses(values):
    """Statuses from a repeated parameter and/or comma strings; the default when none is given.
    Raises a 400 naming `statuses` for an unknown value."""
    chosen = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip().lower()
            if part and part not in chosen:
                chosen.append(part)
    unknown = [value for value in chosen if value not in STATUSES]
    if unknown:
        raise AppError.validation({"statuses": MSG_UNKNOWN_STATUSES.format(values=", ".join(unknown))})
    return tuple(chosen) or DEFAULT_STATUSES


def parse_ordering(value):
    value = (value or "").strip() or DEFAULT_ORDERING
    if value not in ORDERINGS:
        raise AppError.validation({"ordering": MSG_UNKNOWN_ORDERING.format(value=value)})
    return value


def _like_pattern(term):
    escaped = normalise_text(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class ParticipantQuery:
    statuses: tuple = DEFAULT_STATUSES
    search: str = ""
    ordering: str = DEFAULT_ORDERING


def _order_by(ordering, *, totals="agg", student="s.user_id"):
    descending = ordering.startswith("-")
    expression = _SORT_EXPRESSIONS[ordering.lstrip("-")].replace("agg.", f"{totals}.")
    direction = "DESC" if descending else "ASC"
    # Rows without a value sort last in both directions; user_id breaks ties so pages never overlap.
    return f"{expression} {direction} NULLS LAST, {student} ASC"


def _counted(query):
    """Whether the case study's kept counts are the query's total, and its page can be read from
    the totals alone: no search, only joined and completed, not sorted by name."""
    return not query.search and INVITED not in query.statuses and query.ordering.lstrip("-") != "name"


def _count_sql(query):
    """The kept count of the query's statuses (`_counted` queries), as one statement."""
    columns = " + ".join(status for status in (JOINED, COMPLETED) if status in query.statuses)
    return (
        f"SELECT coalesce(sum({columns}), 0)::bigint FROM {_table(ParticipantCount)} "
        "WHERE case_study_id = %(case_study_id)s"
    )


def _from_clause(query, params):
    statuses = set(query.statuses)
    assigned = _ASSIGNED_SQL.format(
        enrolment=_table(Enrolment), case_study_programmes=_table(CaseStudy.programmes.through)
    )
    condition = " OR ".join(_STATUS_CONDITIONS[status].format(assigned=assigned) for status in STATUSES if status in statuses)
    search_condition = ""
    if query.search:
        params["search"] = _like_pattern(query.search)
        search_condition = "AND (s.full_name ILIKE %(search)s OR s.email ILIKE %(search)s)"
    from_sql = _FROM_SQL.format(
        student=_table(Student),
        # Without `invited`, only students with a session qualify: an inner join skips the rest.
        agg_join="LEFT" if INVITED in statuses else "INNER",
        status_condition=condition,
        search_condition=search_condition,
    )
    return _WITH_AGG_SQL.format(standing=_table(CaseStudyStanding)), from_sql


def _base_params(case_study):
    return {"case_study_id": case_study.pk}


def completion_rate(graded_attempts, attempts_allowed):
    """Graded attempts over attempts allowed, 0–1 (capped at 1), 4 places; 0 when none are allowed."""
    if attempts_allowed <= 0:
        return 0.0
    return round(min(1.0, graded_attempts / attempts_allowed), 4)


def _join_status(row):
    if row["graded_attempts"] > 0:
        return COMPLETED
    return JOINED if row["started"] else INVITED


def _participant(row, case_study):
    extra = max(0, int(row["extra_attempts"]))
    allowed = case_study.max_attempts + extra
    best = row["best_score"]
    return {
        "user_id": row["user_id"],
        "student_name": row["full_name"],
        "student_email": row["email"],
        "join_status": _join_status(row),
        "joined_at": row["joined_at"],
        "last_active_at": row["last_active_at"],
        "attempts_used": row["attempts_used"],
        "attempts_allowed": allowed,
        "best_score": None if best is None else round(float(best), 2),
        "completion_rate": completion_rate(row["graded_attempts"], allowed),
    }


def participants_count(*, case_study, query):
    params = _base_params(case_study)
    if _counted(query):
        sql = _count_sql(query)
    else:
        with_agg, from_sql = _from_clause(query, params)
        sql = f"{with_agg}\nSELECT count(*){from_sql}"
    with reads_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def participants_page(*, case_study, query, limit, offset):
    """(count, rows): one page of participants as dicts (the fields of SPEC §7.7), sorted by
    `query.ordering`, and how many participants match in all.

    The count rides on the page query (the case study's kept counts when `_counted`, else a
    window count over the rows the sort reads anyway); only a page past the end, which has no
    row to carry it, costs a second query.
    extra_attempts is the ledger sum for the pair, never below 0; attempts_allowed is the case
    study's max_attempts plus it; the grant sum is the pair's kept sum when `_counted`, else a
    correlated subquery, evaluated only for the page's rows."""
    params = {**_base_params(case_study), "limit": limit, "offset": offset}
    if _counted(query):
        sql = _COUNTED_PAGE_SQL.format(
            count_sql=_count_sql(query),
            standing=_table(CaseStudyStanding),
            student=_table(Student),
            status_condition=_COUNTED_STATUS_CONDITIONS[frozenset(query.statuses)],
            inner_order_by=_order_by(query.ordering, totals="st", student="st.student_id"),
            order_by=_order_by(query.ordering),
        )
    else:
        with_agg, from_sql = _from_clause(query, params)
        sql = _PAGE_SQL.format(
            with_agg=with_agg, grant=_table(AttemptGrant), from_sql=from_sql, order_by=_order_by(query.ordering)
        )
    with reads_connection().cursor() as cursor:
        cursor.execute(sql, params)
        columns = [col.name for col in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    if rows:
        count = rows[0]["total_count"]
    elif offset:
        count = participants_count(case_study=case_study, query=query)
    else:
        count = 0
    return count, [_participant(row, case_study) for row in rows]


def participants_summary(*, case_study):
    """Counts per join_status plus attempts used and the mean of best scores, over every
    participant (the case-study page's overview); one statement."""
    params = _base_params(case_study)
    with_agg, from_sql = _from_clause(ParticipantQuery(statuses=STATUSES), params)
    sql = f"""{with_agg}
SELECT count(*) FILTER (WHERE agg.student_id IS NULL) AS invited,
       count(*) FILTER (WHERE agg.student_id IS NOT NULL AND agg.graded_attempts = 0) AS joined,
       count(*) FILTER (WHERE agg.graded_attempts > 0) AS completed,
       coalesce(sum(agg.attempts_used), 0) AS attempts_used,
       avg(agg.best_score) AS average_best_score{from_sql}"""
    with reads_connection().cursor() as cursor:
        cursor.execute(sql, params)
        columns = [col.name for col in cursor.description]
        row = dict(zip(columns, cursor.fetchone(), strict=True))
    average = row["average_best_score"]
    return {
        INVITED: row["invited"],
        JOINED: row["joined"],
        COMPLETED: row["completed"],
        "participants": row["invited"] + row["joined"] + row["completed"],
        "attempts_used": int(row["attempts_used"]),
        "average_best_score": None if average is None else round(float(average), 2),
    }
