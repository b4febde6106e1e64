"""A student's legal hold (erasure refused while set) and when their personal data was erased.
Both columns are added with what the release before can live with: a database default and NULL."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('students', '0014_functions_name_catalogue_tables'),
    ]

    operations = [
        migrations.AddField(
            model_name='student',
            name='erased_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='student',
            name='legal_hold',
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
