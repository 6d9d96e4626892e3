from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "kehu.engagement.care"
    label = "care"
    verbose_name = _("Care and calendar")
    default_auto_field = "django.db.models.BigAutoField"
