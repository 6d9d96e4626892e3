from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "kehu.customers"
    label = "customers"
    verbose_name = _("Customer archive")

    def ready(self):
        # Apps whose records assign a person to a customer (inspections, complaints, service requests)
        # register who may open that customer's page in `kehu/<app>/customer_access.py`.
        autodiscover_modules("customer_access")
