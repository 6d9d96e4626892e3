from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "kehu.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        checks.register(check_channels)


def check_channels(app_configs=None, **kwargs):
    """Every name in settings.KEHU_NOTIFY_CHANNELS must be a known channel."""
    from django.conf import settings

    from kehu.notifications.services import CHANNELS

    return [checks.Error(f"Unknown notification channel {name!r} in KEHU_NOTIFY_CHANNELS.",
                         hint=f"Known channels: {', '.join(CHANNELS)}.", id="kehu.notifications.E001")
            for name in settings.KEHU_NOTIFY_CHANNELS if name not in CHANNELS]
