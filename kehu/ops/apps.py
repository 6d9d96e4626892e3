from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "kehu.ops"
    label = "ops"
    verbose_name = _("Operations")

    def ready(self):
        from huey.contrib.djhuey import HUEY
        from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR, SIGNAL_EXECUTING

        from kehu.ops import periodic
        from kehu.ops.metrics import task_signal

        periodic.install(HUEY)
        HUEY.signal(SIGNAL_EXECUTING, SIGNAL_COMPLETE, SIGNAL_ERROR)(task_signal)
