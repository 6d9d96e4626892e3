from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "kehu.sales"
    label = "sales"
    verbose_name = _("Sales")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.approvals.hooks import register_outcome_handler
        from kehu.sales.services import on_plan_outcome

        register_outcome_handler("sales.developmentplan", on_plan_outcome)
