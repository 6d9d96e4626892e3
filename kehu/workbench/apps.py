from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class WorkbenchConfig(AppConfig):
    name = "kehu.workbench"
    label = "workbench"
    verbose_name = _("Workbench")

    def ready(self):
        # Each app offers its to-dos and figures in its own `workbench.py` (see registry.py); the
        # workbench never imports the providers' models.
        autodiscover_modules("workbench")
