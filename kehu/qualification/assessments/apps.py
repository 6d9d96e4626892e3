from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "kehu.qualification.assessments"
    label = "assessments"
    verbose_name = _("Customer assessments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.approvals.hooks import register_outcome_handler
        from kehu.qualification.assessments import services

        register_outcome_handler("assessments.termsproposal", services.on_terms_outcome)
