"""Sending pauses per account: one account's refused credentials no longer stop the others."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('zoomconnect', '0013_accounts'),
    ]

    operations = [
        migrations.AddField(
            model_name='sendingpause',
            name='account',
            field=models.CharField(default='default', help_text="The alias of the Zoom Connect account in ZOOMCONNECT['ACCOUNTS'].", max_length=32, verbose_name='account'),
        ),
        migrations.AddConstraint(
            model_name='sendingpause',
            constraint=models.UniqueConstraint(fields=('account',), name='zoomconnect_pause_account'),
        ),
    ]
