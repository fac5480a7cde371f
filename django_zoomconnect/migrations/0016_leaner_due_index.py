"""Leaner message indexes: none for (status, scheduled_at); (status, dispatch_after) serves a status's messages."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('zoomconnect', '0015_leaner_message_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='message',
            name='zoomconnect_msg_due',
        ),
    ]
