from django.utils import timezone

from kehu.access.roles import Perm
from kehu.workdays import selectors


def calendar_warning(request):
    """For administrators: the year the statutory schedule is missing for, if it is this year or
    close enough to matter (a base.html banner). Cached briefly, so it costs no query on most pages."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_kehu_perm(Perm.CALENDAR_MANAGE):
        return {}
    return {"calendar_missing_year": selectors.calendar_warning(timezone.localdate())}
