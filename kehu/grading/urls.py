from django.urls import path

from kehu.grading import views

app_name = "grading"
urlpatterns = [
    path("grading/policies/", views.policy_list, name="policies"),
    path("grading/policies/new/", views.policy_new, name="policy_new"),
    path("grading/policies/import/", views.policy_import, name="policy_import"),
    path("grading/policies/<int:policy_id>/", views.policy_detail, name="policy_detail"),
    path("grading/policies/<int:policy_id>/edit/", views.policy_edit, name="policy_edit"),
    path("grading/policies/<int:policy_id>/export/", views.policy_export, name="policy_export"),
    path("grading/policies/<int:policy_id>/retire/", views.policy_retire, name="policy_retire"),
]
urlpatterns += [
    path("grading/policies/<int:policy_id>/preview/", views.policy_preview, name="policy_preview"),
    path("grading/policies/<int:policy_id>/activate/", views.policy_activate, name="policy_activate"),
    path("grading/policies/<int:policy_id>/run/", views.policy_run, name="policy_run"),
    path("grading/policies/<int:policy_id>/schedule/", views.policy_schedule, name="policy_schedule"),
    path("grading/policies/<int:policy_id>/unschedule/", views.policy_unschedule, name="policy_unschedule"),
    path("grading/customers/<int:customer_id>/", views.customer_grades, name="customer_grades"),
    path("grading/movements/", views.movements, name="movements"),
]
urlpatterns += [
    path("grading/customers/<int:customer_id>/scores/", views.customer_scores, name="customer_scores"),
    path("grading/customers/<int:customer_id>/override/", views.customer_override, name="customer_override"),
    path("grading/customers/<int:customer_id>/renew/", views.customer_renew, name="customer_renew"),
    path("grading/service-policies/", views.service_policies, name="service_policies"),
    path("grading/service-policies/edit/", views.service_policy_edit, name="service_policy_edit"),
    path("grading/service-policies/<int:service_policy_id>/delete/", views.service_policy_delete,
         name="service_policy_delete"),
]
