from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllocationConfig(AppConfig):
    name = "kehu.grading.allocation"
    label = "allocation"
    verbose_name = _("Resource allocation")
    default_auto_field = "django.db.models.BigAutoField"
