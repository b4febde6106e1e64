"""Programme (table students_programme) and CaseStudy (attempts_casestudy) move here from
the students and attempts apps. No table changes: the models keep their tables, and their
content types (with the permissions that point at them) are relabelled."""
import config.ids
from django.db import migrations, models


MOVED = [("students", "programme"), ("attempts", "casestudy")]


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, model in MOVED:
        if not ContentType.objects.filter(app_label="catalogue", model=model).exists():
            ContentType.objects.filter(app_label=app_label, model=model).update(app_label="catalogue")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('attempts', '0002_drop_redundant_fk_indexes'),
        ('students', '0004_search_trigram_indexes_where_added_later'),
    ]

    operations = [
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            # The tables stay where they are; only Django's picture of the models moves.
            state_operations=[
                migrations.CreateModel(
                    name='Programme',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.CharField(max_length=32, unique=True)),
                        ('name', models.CharField(max_length=200)),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'students_programme',
                        'ordering': ['code'],
                    },
                ),
                migrations.CreateModel(
                    name='CaseStudy',
                    fields=[
                        ('case_study_id', models.CharField(default=config.ids.new_object_id, max_length=64, primary_key=True, serialize=False)),
                        ('title', models.CharField(max_length=300)),
                        ('is_active', models.BooleanField(default=True)),
                        ('max_attempts', models.PositiveSmallIntegerField(default=2)),
                        ('grading_method', models.CharField(choices=[('highest', 'Highest'), ('latest', 'Latest'), ('first', 'First'), ('average', 'Average')], default='highest', max_length=16)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('programmes', models.ManyToManyField(blank=True, db_table='attempts_casestudy_programmes', related_name='case_studies', to='catalogue.programme')),
                    ],
                    options={
                        'verbose_name_plural': 'case studies',
                        'db_table': 'attempts_casestudy',
                        'ordering': ['title', 'case_study_id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('max_attempts__gte', 0), ('max_attempts__lte', 100)), name='case_study_max_attempts_range')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
