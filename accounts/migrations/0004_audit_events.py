"""The audit trail (accounts.AuditEvent): append-only, and the admin role may read it."""

import django.utils.timezone
from django.db import migrations, models

from accounts.permissions import BUILT_IN_ROLES

# Append-only in the database too: an UPDATE is always refused, a DELETE only inside the
# retention prune's transaction (which sets audit.prune locally).
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION accounts_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('audit.prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON accounts_auditevent
FOR EACH ROW EXECUTE FUNCTION accounts_audit_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS audit_append_only ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_audit_append_only();
"""


def built_in_roles(apps, schema_editor):
    """The admin role gains AUDIT.can_view."""
    Role = apps.get_model("accounts", "Role")
    for name, perms in BUILT_IN_ROLES.items():
        Role.objects.update_or_create(name=name, defaults={"permissions": list(perms), "built_in": True})


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_sign_in_failures'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occurred_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor_id', models.BigIntegerField(blank=True, null=True)),
                ('actor_email', models.CharField(blank=True, max_length=254)),
                ('via', models.CharField(max_length=8)),
                ('ip', models.GenericIPAddressField(blank=True, null=True)),
                ('request_id', models.CharField(blank=True, max_length=64)),
                ('action', models.CharField(max_length=64)),
                ('target_type', models.CharField(max_length=32)),
                ('target_id', models.CharField(max_length=64)),
                ('changes', models.JSONField(blank=True, default=dict)),
                ('detail', models.JSONField(blank=True, default=dict)),
            ],
            options={
                'indexes': [models.Index(models.OrderBy(models.F('occurred_at'), descending=True), models.OrderBy(models.F('id'), descending=True), name='audit_time'), models.Index(models.F('target_type'), models.F('target_id'), models.OrderBy(models.F('occurred_at'), descending=True), name='audit_target'), models.Index(models.F('actor_id'), models.OrderBy(models.F('occurred_at'), descending=True), name='audit_actor'), models.Index(models.F('action'), models.OrderBy(models.F('occurred_at'), descending=True), name='audit_action')],
            },
        ),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
        migrations.RunPython(built_in_roles, migrations.RunPython.noop),
    ]
