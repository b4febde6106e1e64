"""Webhook endpoints and their delivery log (console.webhooks); the admin role gains
WEBHOOKS.can_manage."""
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import config.ids
from accounts.permissions import BUILT_IN_ROLES


def built_in_roles(apps, schema_editor):
    """The admin role gains WEBHOOKS.can_manage."""
    Role = apps.get_model("accounts", "Role")
    for name, perms in BUILT_IN_ROLES.items():
        Role.objects.update_or_create(name=name, defaults={"permissions": list(perms), "built_in": True})


class Migration(migrations.Migration):

    dependencies = [
        ('console', '0002_export_kinds_from_list_files'),
        ('accounts', '0006_events'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', models.CharField(default=config.ids.new_object_id, max_length=24, primary_key=True, serialize=False)),
                ('url', models.CharField(max_length=2000)),
                ('description', models.CharField(blank=True, default='', max_length=200)),
                ('event_types', models.JSONField(default=list)),
                ('enabled', models.BooleanField(default=True)),
                ('disabled_reason', models.CharField(blank=True, default='', max_length=500)),
                ('disabled_at', models.DateTimeField(blank=True, null=True)),
                ('disabled_by_failures', models.BooleanField(default=False)),
                ('secret', models.CharField(max_length=100)),
                ('previous_secret', models.CharField(blank=True, default='', max_length=100)),
                ('previous_secret_until', models.DateTimeField(blank=True, null=True)),
                ('secret_rotated_at', models.DateTimeField(blank=True, null=True)),
                ('cursor', models.BigIntegerField(default=0)),
                ('failing_since', models.DateTimeField(blank=True, null=True)),
                ('failures', models.PositiveIntegerField(default=0)),
                ('failing_event_id', models.CharField(blank=True, default='', max_length=24)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.CharField(blank=True, default='', max_length=500)),
                ('last_delivered_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.CharField(default=config.ids.new_object_id, max_length=24, primary_key=True, serialize=False)),
                ('event_id', models.CharField(max_length=24)),
                ('event_type', models.CharField(max_length=64)),
                ('event_position', models.BigIntegerField()),
                ('attempt', models.PositiveIntegerField(default=1)),
                ('replay', models.BooleanField(default=False)),
                ('status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('latency_ms', models.PositiveIntegerField(blank=True, null=True)),
                ('response_excerpt', models.CharField(blank=True, default='', max_length=500)),
                ('outcome', models.CharField(choices=[('delivered', 'Delivered'), ('failed', 'Failed'), ('refused', 'Refused')], max_length=16)),
                ('error', models.CharField(blank=True, default='', max_length=300)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='console.webhookendpoint')),
            ],
        ),
        migrations.AddIndex(
            model_name='webhookendpoint',
            index=models.Index(condition=models.Q(('disabled_by_failures', True)), fields=['disabled_at'], name='webhook_disabled_by_failures'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['endpoint', '-created_at', '-id'], name='webhookdelivery_log'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['created_at'], name='webhookdelivery_age'),
        ),
        migrations.RunPython(built_in_roles, migrations.RunPython.noop),
    ]
