"""The console's Archived status choice reads the archived students (a few among many) from a
partial index of their own instead of scanning the table."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
        ("students", "0010_student_number_search_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="student",
            index=models.Index(
                models.F("user_id"), condition=models.Q(("archived", True), ("deleted_at__isnull", True)), name="stu_archived"
            ),
        ),
    ]
