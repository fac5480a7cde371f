"""Leaner message indexes: none for the claim token, or for (batch, status), which (batch, chunk, status) serves."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('zoomconnect', '0014_pause_per_account'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='message',
            name='zoomconnect_msg_batch',
        ),
        migrations.RemoveIndex(
            model_name='message',
            name='zoomconnect_msg_claim',
        ),
    ]
