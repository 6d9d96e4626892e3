"""Answers carry their survey (the report's histogram reads one index); existing answers get their response's."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0003_seed_questionnaire_chain'),
    ]

    operations = [
        migrations.AddField(
            model_name='answer',
            name='campaign',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='surveys.campaign', verbose_name='survey'),
        ),
        migrations.RunSQL(
            "UPDATE surveys_answer SET campaign_id = (SELECT r.campaign_id FROM surveys_response r "
            "WHERE r.id = surveys_answer.response_id) WHERE campaign_id IS NULL",
            migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='answer',
            index=models.Index(fields=['campaign', 'question', 'row', 'number'], name='answer_campaign_histogram'),
        ),
    ]
