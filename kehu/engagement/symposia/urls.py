from django.urls import path

from kehu.engagement.symposia import views

app_name = "symposia"
urlpatterns = [
    path("symposia/", views.symposium_list, name="list"),
    path("symposia/new/", views.symposium_form, name="new"),
    path("symposia/<int:symposium_id>/", views.symposium_detail, name="detail"),
    path("symposia/<int:symposium_id>/edit/", views.symposium_form, name="edit"),
    path("symposia/<int:symposium_id>/invite/", views.invite, name="invite"),
    path("symposia/<int:symposium_id>/attendance/", views.attendance, name="attendance"),
    path("symposia/<int:symposium_id>/minutes/", views.minutes, name="minutes"),
    path("symposia/<int:symposium_id>/close/", views.close, name="close"),
    path("symposia/<int:symposium_id>/cancel/", views.cancel, name="cancel"),
    path("symposia/<int:symposium_id>/items/", views.item_add, name="item_add"),
    path("symposia/<int:symposium_id>/invitees.csv", views.invitees_csv, name="invitees_csv"),
    path("symposia/<int:symposium_id>/print/", views.invitees_print, name="print"),
    path("symposia/invitations/<int:invitation_id>/answer/", views.answer, name="answer"),
    path("symposia/items/<int:item_id>/close/", views.item_close, name="item_close"),
]
