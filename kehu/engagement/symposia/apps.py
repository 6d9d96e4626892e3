from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SymposiaConfig(AppConfig):
    name = "kehu.engagement.symposia"
    label = "symposia"
    verbose_name = _("Symposia")
    default_auto_field = "django.db.models.BigAutoField"
