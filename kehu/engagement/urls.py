from django.urls import path

from kehu.engagement import pwa, views

app_name = "engagement"
urlpatterns = [
    # Served from the site root: the worker's scope is the whole site.
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("followups/", views.interaction_list_page, name="list"),
    path("followups/new/", views.interaction_new, name="create"),
    path("followups/team-overdue/", views.team_overdue_page, name="team_overdue"),
    path("followups/customer-search/", views.customer_search, name="customer_search"),
    path("followups/customers/<int:customer_id>/card/", views.customer_card, name="customer_card"),
    path("followups/<int:interaction_id>/", views.interaction_detail, name="detail"),
    path("followups/<int:interaction_id>/edit/", views.interaction_edit, name="edit"),
    path("followups/<int:interaction_id>/next-step/done/", views.next_step_done, name="next_step_done"),
    path("followups/<int:interaction_id>/next-step/reopen/", views.next_step_reopen, name="next_step_reopen"),
    path("followups/<int:interaction_id>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("followups/<int:interaction_id>/attachments/<int:attachment_id>/", views.attachment_download,
         name="attachment"),
]
