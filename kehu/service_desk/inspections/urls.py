from django.urls import path

from kehu.service_desk.inspections import views

app_name = "inspections"
urlpatterns = [
    path("inspections/", views.visit_list, name="visits"),
    path("inspections/visits/<int:visit_id>/", views.visit_detail, name="visit_detail"),
    path("inspections/visits/<int:visit_id>/report/", views.visit_report, name="visit_report"),
    path("inspections/visits/<int:visit_id>/cancel/", views.visit_cancel, name="visit_cancel"),
    path("inspections/plans/", views.plan_list, name="plans"),
    path("inspections/plans/new/", views.plan_create, name="plan_create"),
    path("inspections/plans/<int:plan_id>/edit/", views.plan_edit, name="plan_edit"),
    path("inspections/plans/<int:plan_id>/deactivate/", views.plan_deactivate, name="plan_deactivate"),
    path("inspections/checklists/", views.checklist_list, name="checklists"),
    path("inspections/checklists/<int:checklist_id>/", views.checklist_edit, name="checklist_edit"),
]
