from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "kehu.imports"
    label = "imports"
    verbose_name = _("Import and export")

    def ready(self):
        from kehu.customers.services import register_erasure_hook
        from kehu.imports.services import import_artefacts_erase

        register_erasure_hook(import_artefacts_erase)
