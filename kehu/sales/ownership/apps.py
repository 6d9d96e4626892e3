from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OwnershipConfig(AppConfig):
    name = "kehu.sales.ownership"
    label = "ownership"
    verbose_name = _("Customer ownership")
    default_auto_field = "django.db.models.BigAutoField"
