from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomerReviewConfig(AppConfig):
    name = "kehu.customers.review"
    label = "customer_review"
    verbose_name = _("Periodic review and reassignment")
