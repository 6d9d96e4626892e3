from django.urls import path

from kehu.qualification.assessments import views

app_name = "assessments"
urlpatterns = [
    path("assessments/", views.run_list, name="list"),
    path("assessments/runs/<int:run_id>/", views.run_detail, name="run"),
    path("assessments/runs/<int:run_id>/print/", views.run_print, name="print"),
    path("assessments/runs/<int:run_id>/export.xlsx", views.run_export, name="export"),
    path("assessments/rows/<int:assessment_id>/", views.row_detail, name="row"),
]
