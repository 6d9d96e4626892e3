from django.urls import path

from kehu.surveys.actions import views

app_name = "survey_actions"
urlpatterns = [
    path("surveys/campaigns/<int:campaign_id>/report/", views.report, name="report"),
    path("surveys/campaigns/<int:campaign_id>/report/print/", views.report_print, name="print"),
    path("surveys/campaigns/<int:campaign_id>/report.xlsx", views.report_export, name="export"),
    path("surveys/actions/", views.my_actions, name="actions"),
    path("surveys/follow-ups/", views.follow_ups, name="follow_ups"),
]
