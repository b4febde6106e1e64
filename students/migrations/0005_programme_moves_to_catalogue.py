"""Programme now lives in the catalogue app (same table): state only."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('attempts', '0003_case_study_moves_to_catalogue'),
        ('catalogue', '0001_initial'),
        ('students', '0004_search_trigram_indexes_where_added_later'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay where they are; only Django's picture of the models moves.
            state_operations=[
                migrations.AlterField(
                    model_name='enrolment',
                    name='programme',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='enrolments', to='catalogue.programme'),
                ),
                migrations.AlterField(
                    model_name='student',
                    name='programmes',
                    field=models.ManyToManyField(blank=True, related_name='students', through='students.Enrolment', to='catalogue.programme'),
                ),
                migrations.DeleteModel(
                    name='Programme',
                ),
            ],
            database_operations=[],
        ),
    ]
