"""CaseStudy now lives in the catalogue app (same table): state only."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('attempts', '0002_drop_redundant_fk_indexes'),
        ('catalogue', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay where they are; only Django's picture of the models moves.
            state_operations=[
                migrations.AlterField(
                    model_name='session',
                    name='case_study',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='catalogue.casestudy'),
                ),
                migrations.AlterField(
                    model_name='attemptgrant',
                    name='case_study',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='attempt_grants', to='catalogue.casestudy'),
                ),
                migrations.DeleteModel(
                    name='CaseStudy',
                ),
            ],
            database_operations=[],
        ),
    ]
