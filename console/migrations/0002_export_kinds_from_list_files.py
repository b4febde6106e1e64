"""A background export's kinds are read from the registry of console.list_files (through
console.exports.models.kind_choices), so a new kind needs no migration. Nothing changes in the
database."""
from django.db import migrations, models

import console.exports.models


class Migration(migrations.Migration):

    dependencies = [
        ("console", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="exportjob",
            name="kind",
            field=models.CharField(choices=console.exports.models.kind_choices, max_length=16),
        ),
    ]
