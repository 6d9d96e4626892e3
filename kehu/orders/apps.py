from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "kehu.orders"
    label = "orders"
    verbose_name = _("Orders and payments")

    def ready(self):
        from kehu.orders import hooks  # noqa: F401  (registers the approval outcome hook)
