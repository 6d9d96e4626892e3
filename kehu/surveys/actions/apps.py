from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveyActionsConfig(AppConfig):
    name = "kehu.surveys.actions"
    label = "survey_actions"
    verbose_name = _("Survey analysis and actions")
    default_auto_field = "django.db.models.BigAutoField"
