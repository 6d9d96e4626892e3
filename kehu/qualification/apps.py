from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualificationConfig(AppConfig):
    name = "kehu.qualification"
    label = "qualification"
    verbose_name = _("Qualification")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.qualification.services import register

        # The account-opening chain's outcome handler, and the gate's explainer that names the expired paper.
        register()
