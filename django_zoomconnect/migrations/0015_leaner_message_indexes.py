"""Leaner message indexes: none for the batch alone or the claim token; the optional links indexed only where set."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


class AlterLinkField(migrations.AlterField):
    """Drop a link's plain index, except on MySQL: InnoDB keeps an index on every foreign key
    (Django then neither drops it nor can create it again on the way back), and MySQL has no
    partial indexes to replace it with."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "mysql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "mysql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


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
        AlterLinkField(
            model_name='message',
            name='contact',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='zoomconnect.contact'),
        ),
        AlterLinkField(
            model_name='message',
            name='in_reply_to',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replies', to='zoomconnect.message'),
        ),
        AlterLinkField(
            model_name='message',
            name='retry_of',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='retries', to='zoomconnect.message', verbose_name='retry of'),
        ),
        AlterLinkField(
            model_name='message',
            name='template',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='zoomconnect.template'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('contact__isnull', False)), fields=['contact'], name='zoomconnect_msg_contact'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('template__isnull', False)), fields=['template'], name='zoomconnect_msg_template'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('in_reply_to__isnull', False)), fields=['in_reply_to'], name='zoomconnect_msg_in_reply_to'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('retry_of__isnull', False)), fields=['retry_of'], name='zoomconnect_msg_retry_of'),
        ),
    ]
