from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceTicketsConfig(AppConfig):
    name = "kehu.service_desk.tickets"
    label = "service_tickets"
    verbose_name = _("Service requests and emergencies")
