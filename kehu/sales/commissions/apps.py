from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommissionsConfig(AppConfig):
    name = "kehu.sales.commissions"
    label = "commissions"
    verbose_name = _("Commissions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.sales.commissions.services import register_handlers

        register_handlers()
