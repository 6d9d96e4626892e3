from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlacklistConfig(AppConfig):
    name = "kehu.qualification.blacklist"
    label = "blacklist"
    verbose_name = _("Blacklist")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from kehu.approvals.hooks import register_outcome_handler
        from kehu.customers.gates import register_explainer
        from kehu.customers.services import register_protected_fields
        from kehu.qualification.blacklist import services
        from kehu.qualification.blacklist.models import BlacklistEntry, BlacklistPhone

        register_outcome_handler("blacklist.disqualification", services.on_disqualification_outcome)
        register_outcome_handler("blacklist.lift", services.on_lift_outcome)
        register_explainer(_explain)
        register_protected_fields(BlacklistEntry, "id_number")
        register_protected_fields(BlacklistPhone, "phone")


def _explain(customer, action):
    """The gate's reason for a disqualified customer: the blacklist entry's category and date."""
    if customer.status != "disqualified":
        return None
    from django.utils import timezone
    from django.utils.translation import gettext

    from kehu.qualification.blacklist.models import ReasonCategory
    from kehu.qualification.blacklist.selectors import entry_for_customer

    entry = entry_for_customer(customer_id=customer.pk)
    if entry is None:
        return None
    return gettext("Blacklisted on %(date)s: %(reason)s.") % {
        "date": timezone.localdate(entry.listed_at).isoformat(), "reason": ReasonCategory(entry.category).label}
