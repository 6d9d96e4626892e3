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
