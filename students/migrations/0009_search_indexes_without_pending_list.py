from django.db import migrations

# A GIN index with fastupdate (PostgreSQL's default) queues new entries in a pending list of up
# to 4 MB, and every search reads that list in full. Each session ingested moves its student's
# last_seen, a non-HOT update that queues ~25 trigrams per index: on a busy tenant searches
# slowed from 1 ms to 6 ms (1,000,000 students after 20,000 such updates; bench/README.md).
# Without the list a search costs the same however busy the tenant; an update of a student
# costs about 0.2 ms more. Indexes missing (a server without pg_trgm) are left alone.


def _on_each_trigram_index(statements):
    """SQL running `statements` (with %I for the index) on each trigram index that exists."""
    return f"""
DO $$
DECLARE index_name text;
BEGIN
    FOREACH index_name IN ARRAY ARRAY['stu_name_trgm', 'stu_email_trgm'] LOOP
        IF to_regclass(index_name) IS NOT NULL THEN
            {statements}
        END IF;
    END LOOP;
END $$;
"""


FORWARD = _on_each_trigram_index(
    "EXECUTE format('ALTER INDEX %I SET (fastupdate = off)', index_name);"
    " PERFORM pg_catalog.gin_clean_pending_list(to_regclass(index_name));"
)
BACKWARD = _on_each_trigram_index("EXECUTE format('ALTER INDEX %I RESET (fastupdate)', index_name);")


class Migration(migrations.Migration):
    dependencies = [("students", "0008_student_programme_ids")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
