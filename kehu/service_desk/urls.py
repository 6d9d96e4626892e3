from django.urls import path

from kehu.service_desk import views

app_name = "service_desk"
urlpatterns = [
    path("complaints/", views.complaint_board, name="board"),
    path("complaints/list/", views.complaint_list, name="list"),
    path("complaints/reports/", views.complaint_reports, name="reports"),
    path("complaints/new/", views.complaint_create, name="create"),
    path("complaints/public/", views.public_complaint, name="public"),
    path("complaints/track/", views.public_track, name="track"),
    path("complaints/<int:complaint_id>/", views.complaint_detail, name="detail"),
    path("complaints/<int:complaint_id>/act/", views.complaint_act, name="act"),
    path("complaints/<int:complaint_id>/reassign/", views.complaint_reassign, name="reassign"),
    path("complaints/<int:complaint_id>/extension/", views.complaint_extension, name="extension"),
    path("complaints/<int:complaint_id>/customer/", views.complaint_link_customer, name="link_customer"),
]
