from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "kehu.grading"
    label = "grading"
    verbose_name = _("Customer grading")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.grading import hooks  # noqa: F401  (registers the approval outcome hook)
