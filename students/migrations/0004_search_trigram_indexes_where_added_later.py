from importlib import import_module

from django.db import migrations

# Databases migrated on a server without pg_trgm (the embedded server used to lack it) ran
# 0002 as a no-op. Running the same idempotent SQL again creates the trigram indexes once the
# server has the extension; elsewhere it changes nothing.
_first = import_module("students.migrations.0002_search_trigram_indexes")


class Migration(migrations.Migration):
    dependencies = [("students", "0003_name_collation")]
    operations = [migrations.RunSQL(_first.FORWARD, migrations.RunSQL.noop)]
