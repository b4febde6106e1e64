"""Failed sign-ins: from counts per fixed window to one row per failure with its time (a
sliding window). The old counts are deleted: they say how many failures fell in a window, not
when, and forgetting them forgets at most one window's failures."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_audit_events'),
    ]

    operations = [
        migrations.RunSQL("DELETE FROM accounts_signinfailures", migrations.RunSQL.noop),
        migrations.RemoveConstraint(
            model_name='signinfailures',
            name='signin_failures_key_window',
        ),
        migrations.RemoveIndex(
            model_name='signinfailures',
            name='signin_failures_window',
        ),
        migrations.RemoveField(
            model_name='signinfailures',
            name='failures',
        ),
        migrations.RemoveField(
            model_name='signinfailures',
            name='window',
        ),
        migrations.AddField(
            model_name='signinfailures',
            name='failed_at',
            # The table is empty by now: no row ever takes this default.
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name='signinfailures',
            index=models.Index(models.F('key'), models.F('failed_at'), name='signin_failures_key_time'),
        ),
        migrations.AddIndex(
            model_name='signinfailures',
            index=models.Index(models.F('failed_at'), name='signin_failures_time'),
        ),
    ]
