from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConcurrencyConfig(AppConfig):
    """Optimistic concurrency (record versions, If-Match) and idempotent creates (Idempotency-Key)."""

    name = "kehu.concurrency"
    label = "concurrency"
    verbose_name = _("Concurrency control")
    default_auto_field = "django.db.models.BigAutoField"
