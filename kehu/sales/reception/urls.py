from django.urls import path

from kehu.sales.reception import views

app_name = "reception"
urlpatterns = [
    path("reception/", views.rotation_page, name="rotation"),
    path("reception/back/", views.back_at_desk, name="back"),
    path("reception/new/", views.entry_new, name="entry_new"),
    path("reception/new/<int:entry_id>/", views.entry_assigned, name="assigned"),
    path("reception/register/", views.register, name="register"),
    path("reception/register/<int:entry_id>/", views.entry_detail, name="entry"),
    path("reception/statistics/", views.statistics, name="statistics"),
    path("reception/statistics/export/", views.statistics_export, name="statistics_export"),
]
