from django.db import migrations

from accounts.permissions import BUILT_IN_ROLES


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, perms in BUILT_IN_ROLES.items():
        Role.objects.update_or_create(name=name, defaults={"permissions": list(perms), "built_in": True})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
