from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "kehu.engagement.visits"
    label = "visits"
    verbose_name = _("Visits")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.engagement.hooks import on_interaction_recorded
        from kehu.engagement.visits.services import on_visit_recorded, on_visit_recorded_sql

        on_interaction_recorded(on_visit_recorded, sql=on_visit_recorded_sql)
