"""The catalogue's tables take its own names: students_programme becomes catalogue_programme,
attempts_casestudy catalogue_casestudy, attempts_casestudy_programmes
catalogue_casestudy_programmes.

Triggers follow their tables. Indexes, constraints and sequences keep the names they were
created with, which Django finds by their columns when it alters them; the exception is the
pattern-matching (`_like`) index of a text column, which Django finds by the name it derives
from the table's, so those three are renamed to the names Django would give them now.

The students app's functions that name these tables in their bodies are restated with the new
names by students 0014, which runs after this. This runs after students 0013, the last
migration writing those functions with the old names, so migrating students back past them
first renames the tables back."""
from django.db import migrations, models

# (name under the old table, name Django gives it under the new one)
LIKE_INDEXES = [
    ("students_programme_code_a7f43bf1_like", "catalogue_programme_code_b8b54c47_like"),
    ("attempts_casestudy_case_study_id_deac4afb_like", "catalogue_casestudy_case_study_id_36a13988_like"),
    (
        "attempts_casestudy_programmes_casestudy_id_65c9638e_like",
        "catalogue_casestudy_programmes_casestudy_id_3c9259d2_like",
    ),
]

RENAME_INDEXES = "\n".join(f'ALTER INDEX IF EXISTS "{old}" RENAME TO "{new}";' for old, new in LIKE_INDEXES)
RENAME_INDEXES_BACK = "\n".join(f'ALTER INDEX IF EXISTS "{new}" RENAME TO "{old}";' for old, new in LIKE_INDEXES)


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0001_initial"),
        ("students", "0013_overall_case_studies_recount_locks"),
    ]

    operations = [
        migrations.AlterField(
            model_name="casestudy",
            name="programmes",
            field=models.ManyToManyField(
                blank=True, db_table="catalogue_casestudy_programmes", related_name="case_studies", to="catalogue.programme"
            ),
        ),
        migrations.AlterModelTable(name="casestudy", table="catalogue_casestudy"),
        migrations.AlterModelTable(name="programme", table="catalogue_programme"),
        migrations.RunSQL(RENAME_INDEXES, RENAME_INDEXES_BACK),
    ]
