"""The catalogue's tables were renamed (catalogue 0002). Triggers follow a renamed table, but a
function's body names tables as text, looked up when it runs: the three functions whose bodies
name a catalogue table are restated with the new names, from their latest versions (0006, 0012
and 0013). Reversed, they name the old tables again."""
import importlib
import re

from django.db import migrations

RENAMED = {
    "students_programme": "catalogue_programme",
    "attempts_casestudy_programmes": "catalogue_casestudy_programmes",
    "attempts_casestudy": "catalogue_casestudy",
}
_OLD_NAME = re.compile(r"\b(" + "|".join(sorted(RENAMED, key=len, reverse=True)) + r")\b")

# Each function, in the migration (and its SQL) holding its latest version.
LATEST = [
    ("students_programme_label_refresh", "0006_programme_label_follows_programme_renames", "FORWARD"),
    ("students_case_study_activity_changed", "0012_overall_case_studies_maintained", "TRIGGERS"),
    ("students_overall_case_studies_recount", "0013_overall_case_studies_recount_locks", "RECOUNT"),
]


def _definition(function, module, attribute):
    sql = getattr(importlib.import_module(f"students.migrations.{module}"), attribute)
    found = re.findall(rf"CREATE OR REPLACE FUNCTION {function}\(.*?\n\$\$;", sql, re.DOTALL)
    assert len(found) == 1, (function, module)
    return found[0]


BEFORE = [_definition(*latest) for latest in LATEST]
AFTER = [_OLD_NAME.sub(lambda match: RENAMED[match[1]], definition) for definition in BEFORE]


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0002_tables_take_catalogue_names"),
        ("students", "0013_overall_case_studies_recount_locks"),
    ]

    operations = [migrations.RunSQL("\n".join(AFTER), "\n".join(BEFORE))]
