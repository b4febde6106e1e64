"""Each student's totals on each case study (CaseStudyStanding, table attempts_standing): their
sessions, attempts used, sessions graded, graded scores oldest first, best score, first start,
last activity, and the grant ledger's sum.

PostgreSQL keeps them (migration 0004; 0005 filled them from the rows already there): statement-level triggers on the sessions and the
ledger recompute, at the end of each statement that writes them and in its transaction, the
pairs it touched, from their rows, after locking those pairs (advisory locks in key order), so
that two writers of one pair count each other's rows. Every writer is covered, the services,
COPY, the admin, a restore, a test's factories, without calling anything. The rules are SPEC
§4's, written in the migration's SQL; attempts/tests/test_standing.py holds the table equal to
the same totals computed from Session's declared statuses, so a change to them that the SQL
does not follow fails there.

A statement of more than 1,000 pairs takes one lock for the tenant's table instead of one per
pair (the server's lock table is shared and finite).

Each pair also says whether its student is listed (not archived, not deleted), and each case
study how many listed students joined and completed it (attempts.models.ParticipantCount):
migration 0007, whose triggers follow the pairs' rows and the students' archive, restore and
deletion. The refresh locks the pairs' students (FOR SHARE, in key order, before the pairs, as
a session report has already locked them), so a student's listed state cannot change between
its reading and the commit.

A bulk load may skip that upkeep for the rest of its transaction (`STANDING_DEFERRED_SQL`, as
the demo seed does while it writes millions of rows without their indexes) and rebuild the
table from every row once it is done (`standing_rebuild`, which also ends the deferral).
"""
from django.db import connection

# Inside a transaction: its writes of sessions and ledger rows leave attempts_standing as it
# is, until it ends or standing_rebuild runs in it; call standing_rebuild after the load.
STANDING_DEFERRED_SQL = "SELECT set_config('attempts.standing_deferred', 'on', true)"


def standing_rebuild():
    """Recompute every pair's totals from all sessions and ledger rows (after a load that
    deferred them, or to repair), and keep them again for the rest of the transaction, if one
    deferred them. Writers of sessions and ledger rows wait for it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('attempts.standing_deferred', 'off', true), attempts_standing_rebuild()")
