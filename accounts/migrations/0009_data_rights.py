"""Students' data rights: the admin role gains DATA_RIGHTS.can_manage, and the audit trail's
append-only trigger lets one controlled path through: a student's erasure (attempts.data_rights)
may rewrite the recorded values (`changes`, `detail`) of that student's earlier events, inside
its own transaction (which sets audit.erase locally). Nothing else of an event may change, and
every other UPDATE is refused as before."""
from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION accounts_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('audit.prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND current_setting('audit.erase', true) = 'on'
       AND (NEW.id, NEW.occurred_at, NEW.actor_id, NEW.actor_email, NEW.via, NEW.ip, NEW.request_id,
            NEW.action, NEW.target_type, NEW.target_id)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.occurred_at, OLD.actor_id, OLD.actor_email, OLD.via, OLD.ip, OLD.request_id,
            OLD.action, OLD.target_type, OLD.target_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

APPEND_ONLY_BEFORE = """
CREATE OR REPLACE FUNCTION accounts_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('audit.prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def built_in_roles(apps, schema_editor):
    """The admin role gains DATA_RIGHTS.can_manage."""
    from accounts.permissions import BUILT_IN_ROLES

    Role = apps.get_model("accounts", "Role")
    for name, perms in BUILT_IN_ROLES.items():
        Role.objects.update_or_create(name=name, defaults={"permissions": list(perms), "built_in": True})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_scim"),
    ]

    operations = [
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_BEFORE),
        migrations.RunPython(built_in_roles, migrations.RunPython.noop),
    ]
