from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceDeskConfig(AppConfig):
    name = "kehu.service_desk"
    label = "service_desk"
    verbose_name = _("Complaints and service")

    def ready(self):
        from kehu.service_desk import services

        services.register_approval_handlers()
