from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceDeskConfig(AppConfig):
    name = "kehu.service_desk"
    label = "service_desk"
    verbose_name = _("Complaints and service")

    def ready(self):
        from kehu.customers.services import register_protected_fields
        from kehu.service_desk import services
        from kehu.service_desk.models import Complaint

        services.register_approval_handlers()
        register_protected_fields(Complaint, "complainant_phone")
