from django.urls import path

from kehu.sales.commissions import views

app_name = "commissions"
urlpatterns = [
    path("commissions/", views.statements, name="statements"),
    path("commissions/statement.xlsx", views.statement_xlsx, name="statement_xlsx"),
    path("commissions/deals/<int:deal_id>/", views.deal, name="deal"),
    path("commissions/rules/", views.rules, name="rules"),
]
