from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlacklistConfig(AppConfig):
    name = "kehu.qualification.blacklist"
    label = "blacklist"
    verbose_name = _("Blacklist")
    default_auto_field = "django.db.models.BigAutoField"
