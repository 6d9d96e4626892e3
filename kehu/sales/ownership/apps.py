from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OwnershipConfig(AppConfig):
    name = "kehu.sales.ownership"
    label = "ownership"
    verbose_name = _("Customer ownership")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.engagement.hooks import on_interaction_recorded
        from kehu.sales.facts import register_facts_provider
        from kehu.sales.ownership.facts import ownership_facts
        from kehu.sales.ownership.services import on_followup_recorded, on_followup_recorded_sql

        on_interaction_recorded(on_followup_recorded, sql=on_followup_recorded_sql)
        register_facts_provider(ownership_facts)
