from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReceptionConfig(AppConfig):
    name = "kehu.sales.reception"
    label = "reception"
    verbose_name = _("Reception")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.sales.facts import register_facts_provider
        from kehu.sales.reception.facts import reception_facts

        register_facts_provider(reception_facts)
        from kehu.customers.services import register_erasure_hook
        from kehu.sales.reception.services import register_erase

        register_erasure_hook(register_erase)
