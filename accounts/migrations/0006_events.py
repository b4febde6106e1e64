"""The change feed's events (accounts.events): the outbox table, the tenant's counter row, the
trigger that gives positions at commit in commit order, and EVENTS.can_read for admins.

An event is inserted with a null position. A constraint trigger, deferred to the commit, fires
for each inserted event; its first firing in a transaction
- counts the transaction's unnumbered events (the only unnumbered rows it can see: other
  transactions' are uncommitted, and committed ones are numbered),
- adds that count to the counter row's `last` (an upsert, so a counter row lost to a TRUNCATE
  comes back), which locks the row until the commit: a transaction committing events at the
  same moment waits there, and reads the `last` this one commits,
- numbers the transaction's events `last - count + 1 …` in id order (the order they were made),
- wakes the webhook dispatcher: queues a `webhooks.dispatch` job for the tenant (procrastinate's
  own function, so the queue's NOTIFY wakes a worker) unless one is already waiting. Committers
  of one tenant do this one after the other (they hold the counter row), so a waiting job is
  either taken by a dispatcher before this commit (which first waits for the transactions in
  progress when it starts, this one among them) or after it (and reads these events); woken
  at a transaction's first event instead, a long transaction that found a job waiting would
  queue none, and that job could finish before it committed,
and marks the transaction as numbered (a transaction-local setting), so the other firings return
at once. Positions are therefore gapless and follow commit order: when a reader sees an event,
every event of a lower position is already committed and visible to it. An INSERT statement
clears the mark (a statement-level trigger), so events written after an early firing (SET
CONSTRAINTS … IMMEDIATE) are numbered at the next one.

Tables are named through the trigger's schema (TG_TABLE_SCHEMA), not the search_path in force at
the commit.
"""
import django.utils.timezone
from django.db import migrations, models

import config.ids
from accounts.permissions import BUILT_IN_ROLES

NUMBERING = """
CREATE OR REPLACE FUNCTION accounts_event_number() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unnumbered bigint;
    last_given bigint;
    wake_up text := 'webhooks.dispatch:' || TG_TABLE_SCHEMA;
BEGIN
    IF current_setting('event_feed.numbered', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('event_feed.numbered', 'on', true);
    EXECUTE format('SELECT count(*) FROM %I.accounts_event WHERE position IS NULL', TG_TABLE_SCHEMA)
    INTO unnumbered;
    IF unnumbered = 0 THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'INSERT INTO %I.accounts_eventcounter AS c (id, last, pruned_through) VALUES (1, $1, 0) '
        'ON CONFLICT (id) DO UPDATE SET last = c.last + $1 RETURNING c.last',
        TG_TABLE_SCHEMA
    ) INTO last_given USING unnumbered;
    EXECUTE format(
        'UPDATE %1$I.accounts_event AS e SET position = n.position '
        'FROM (SELECT id, $1 - $2 + row_number() OVER (ORDER BY id) AS position '
        '      FROM %1$I.accounts_event WHERE position IS NULL) AS n '
        'WHERE e.id = n.id',
        TG_TABLE_SCHEMA
    ) USING last_given, unnumbered;
    IF NOT EXISTS (
        SELECT 1 FROM public.procrastinate_jobs WHERE queueing_lock = wake_up AND status = 'todo'
    ) THEN
        BEGIN
            PERFORM public.procrastinate_defer_jobs_v1(ARRAY[ROW(
                'default', 'webhooks.dispatch', 0, NULL, wake_up,
                jsonb_build_object('schema', TG_TABLE_SCHEMA), NULL
            )::public.procrastinate_job_to_defer_v1]);
        EXCEPTION WHEN unique_violation THEN
            NULL;  -- queued by someone else this instant: that one will do
        END;
    END IF;
    RETURN NULL;
END
$$;


CREATE OR REPLACE FUNCTION accounts_event_inserting() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('event_feed.numbered', '', true);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER event_position AFTER INSERT ON accounts_event
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION accounts_event_number();

CREATE TRIGGER event_inserting BEFORE INSERT ON accounts_event
FOR EACH STATEMENT EXECUTE FUNCTION accounts_event_inserting();

INSERT INTO accounts_eventcounter (id, last, pruned_through) VALUES (1, 0, 0) ON CONFLICT DO NOTHING;
"""
DROP_NUMBERING = """
DROP TRIGGER IF EXISTS event_inserting ON accounts_event;
DROP TRIGGER IF EXISTS event_position ON accounts_event;
DROP FUNCTION IF EXISTS accounts_event_inserting();
DROP FUNCTION IF EXISTS accounts_event_number();
"""


def built_in_roles(apps, schema_editor):
    """The admin role gains EVENTS.can_read."""
    Role = apps.get_model("accounts", "Role")
    for name, perms in BUILT_IN_ROLES.items():
        Role.objects.update_or_create(name=name, defaults={"permissions": list(perms), "built_in": True})


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_sign_in_failures_sliding_window'),
    ]

    operations = [
        migrations.CreateModel(
            name='EventCounter',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('last', models.BigIntegerField(default=0)),
                ('pruned_through', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='Event',
            fields=[
                ('id', models.CharField(default=config.ids.new_object_id, max_length=24, primary_key=True, serialize=False)),
                ('position', models.BigIntegerField(blank=True, null=True, unique=True)),
                ('type', models.CharField(max_length=64)),
                ('occurred_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor', models.JSONField(default=dict)),
                ('subject_type', models.CharField(max_length=32)),
                ('subject_id', models.CharField(max_length=64)),
                ('student_id', models.CharField(blank=True, max_length=24, null=True)),
                ('data', models.JSONField(default=dict)),
            ],
            options={
                'indexes': [models.Index(condition=models.Q(('position__isnull', True)), fields=['id'], name='event_unnumbered')],
            },
        ),
        migrations.RunSQL(NUMBERING, DROP_NUMBERING),
        migrations.RunPython(built_in_roles, migrations.RunPython.noop),
    ]
