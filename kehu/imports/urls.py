from django.urls import path

from kehu.imports import views

app_name = "imports"
urlpatterns = [
    path("imports/", views.import_list, name="list"),
    path("imports/upload/", views.import_upload, name="upload"),
    path("imports/<int:job_id>/", views.import_detail, name="detail"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="progress"),
    path("imports/<int:job_id>/dry-run/", views.import_dry_run, name="dry_run"),
    path("imports/<int:job_id>/commit/", views.import_commit, name="commit"),
    path("imports/<int:job_id>/cancel/", views.import_cancel, name="cancel"),
    path("imports/<int:job_id>/resume/", views.import_resume, name="resume"),
    path("imports/<int:job_id>/errors/", views.import_errors, name="errors"),
]
