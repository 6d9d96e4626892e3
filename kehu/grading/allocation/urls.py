from django.urls import path

from kehu.grading.allocation import views

app_name = "allocation"
urlpatterns = [
    path("allocation/plans/", views.plan_list, name="plans"),
    path("allocation/plans/new/", views.plan_new, name="plan_new"),
    path("allocation/plans/import/", views.plan_import, name="plan_import"),
    path("allocation/plans/<int:plan_id>/edit/", views.plan_edit, name="plan_edit"),
    path("allocation/plans/<int:plan_id>/delete/", views.plan_delete, name="plan_delete"),
    path("allocation/rounds/", views.round_list, name="rounds"),
    path("allocation/rounds/<int:round_id>/", views.round_detail, name="round"),
    path("allocation/rounds/<int:round_id>/export.csv", views.round_export, name="round_export"),
    path("allocation/rounds/<int:round_id>/compute/", views.round_compute, name="round_compute"),
    path("allocation/rounds/<int:round_id>/confirm/", views.round_confirm, name="round_confirm"),
    path("allocation/rounds/<int:round_id>/delete/", views.round_delete, name="round_delete"),
]
