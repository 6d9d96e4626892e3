from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "kehu.engagement"
    label = "engagement"
    verbose_name = _("Engagement")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.customers.merge import register_rebuilt
        from kehu.engagement.services import summaries_rebuild

        # One summary row per customer (its pk is the customer's): a merge rebuilds both, never moves it.
        register_rebuilt("engagement.customercontactsummary", "customer", summaries_rebuild)
