from django.urls import path

from kehu.engagement.visits import views

app_name = "visits"
urlpatterns = [
    path("visits/", views.plan_list, name="plans"),
    path("visits/plans/<int:plan_id>/", views.plan_detail, name="plan"),
    path("visits/scheduled/<int:visit_id>/", views.visit_detail, name="visit"),
    path("visits/scheduled/<int:visit_id>/report/", views.report_new, name="report_new"),
    path("visits/overdue/", views.overdue, name="overdue"),
    path("visits/overdue/remind/", views.remind_now, name="remind"),
    path("visits/completion/", views.completion, name="completion"),
    path("visits/reports/", views.report_list, name="reports"),
    path("visits/reports/<int:report_id>/", views.report_detail, name="report"),
    path("visits/reports/<int:report_id>/print/", views.report_print, name="report_print"),
    path("visits/suggestions/", views.suggestion_list, name="suggestions"),
    path("visits/suggestions/<int:suggestion_id>/", views.suggestion_detail, name="suggestion"),
    path("visits/executive/", views.executive_list, name="executive_list"),
    path("visits/executive/new/", views.executive_new, name="executive_new"),
    path("visits/executive/<int:visit_id>/", views.executive_detail, name="executive"),
]
