from django.urls import include, path

from kehu.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("kehu.ops.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("kehu.access.urls")),
    path("", include("kehu.workbench.urls")),
    path("", include("kehu.customers.urls")),
    path("", include("kehu.audit.urls")),
    path("", include("kehu.workdays.urls")),
    path("", include("kehu.service_desk.urls")),
    path("", include("kehu.approvals.urls")),
    path("", include("kehu.notifications.urls")),
    path("", include("kehu.imports.urls")),
    path("", include("kehu.imports.export_urls")),
    path("", include("kehu.customers.review.urls")),
    path("", include("kehu.service_desk.inspections.urls")),
    path("", include("kehu.service_desk.tickets.urls")),
    path("", include("kehu.grading.urls")),
    path("", include("kehu.grading.allocation.urls")),
    path("", include("kehu.orders.urls")),
    path("", include("kehu.engagement.urls")),
    path("", include("kehu.engagement.visits.urls")),
    path("", include("kehu.engagement.symposia.urls")),
    path("", include("kehu.engagement.care.urls")),
]
