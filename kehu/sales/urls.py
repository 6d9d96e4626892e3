from django.urls import path

from kehu.sales import views

app_name = "sales"
urlpatterns = [
    path("sales/prospects/", views.prospects, name="prospects"),
    path("sales/plans/", views.plans, name="plans"),
    path("sales/plans/<int:plan_id>/", views.plan_detail, name="plan"),
    path("sales/opportunities/", views.opportunities, name="opportunities"),
    path("sales/opportunities/<int:opportunity_id>/", views.opportunity_detail, name="opportunity"),
    path("sales/lost/", views.lost_analysis, name="lost"),
    path("sales/deals/", views.deals, name="deals"),
    path("sales/deals/<int:deal_id>/", views.deal_detail, name="deal"),
    path("sales/arrears/", views.arrears, name="arrears"),
    path("sales/dunning/<int:notice_id>/", views.dunning_detail, name="dunning"),
    path("sales/breaches/", views.breaches, name="breaches"),
    path("sales/stats/", views.stats, name="stats"),
    path("sales/stats/export.xlsx", views.stats_export, name="stats_export"),
    path("sales/settings/", views.settings_page, name="settings"),
]
