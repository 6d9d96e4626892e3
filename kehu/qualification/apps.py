from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualificationConfig(AppConfig):
    name = "kehu.qualification"
    label = "qualification"
    verbose_name = _("Qualification")
    default_auto_field = "django.db.models.BigAutoField"
