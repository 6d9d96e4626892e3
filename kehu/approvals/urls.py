from django.urls import path

from kehu.approvals import views

app_name = "approvals"
urlpatterns = [
    path("approvals/", views.inbox, name="inbox"),
    path("approvals/badges/", views.badges, name="badges"),
    path("approvals/requests/<int:request_id>/", views.request_detail, name="request"),
    path("approvals/requests/<int:request_id>/decide/", views.request_decide, name="decide"),
    path("approvals/requests/<int:request_id>/meeting/", views.request_meeting, name="meeting"),
    path("approvals/requests/<int:request_id>/resubmit/", views.request_resubmit, name="resubmit"),
    path("approvals/requests/<int:request_id>/cancel/", views.request_cancel, name="cancel"),
    path("approvals/delegations/", views.delegations, name="delegations"),
    path("approvals/delegations/<int:delegation_id>/end/", views.delegation_end, name="delegation_end"),
]
