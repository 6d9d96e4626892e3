from django.urls import path

from kehu.qualification import views

app_name = "qualification"
urlpatterns = [
    path("qualification/applications/", views.application_list_page, name="applications"),
    path("qualification/applications/<int:application_id>/", views.application_detail_page, name="application"),
    path("qualification/applications/<int:application_id>/resubmit", views.application_resubmit_post, name="resubmit"),
    path("qualification/documents/", views.document_list_page, name="documents"),
    path("qualification/documents/<int:document_id>/file", views.document_file, name="document_file"),
    path("qualification/documents/<int:document_id>/verify", views.document_verify_post, name="verify"),
    path("qualification/customers/<int:customer_id>/", views.customer_page, name="customer"),
    path("qualification/customers/<int:customer_id>/type", views.customer_type_post, name="type"),
    path("qualification/customers/<int:customer_id>/documents", views.document_post, name="document_add"),
    path("qualification/customers/<int:customer_id>/apply", views.application_post, name="apply"),
    path("qualification/customers/<int:customer_id>/suspend", views.status_post, {"move": "suspend"}, name="suspend"),
    path("qualification/customers/<int:customer_id>/reinstate", views.status_post, {"move": "reinstate"}, name="reinstate"),
]
