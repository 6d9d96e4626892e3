from django.urls import path

from kehu.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("customers/new/", views.customer_create, name="create"),
    path("customers/new/duplicates/", views.customer_duplicate_hint, name="duplicate_hint"),
    path("customers/<int:customer_id>/", views.customer_detail, name="detail"),
    path("customers/<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:customer_id>/delete/", views.customer_delete, name="delete"),
    path("customers/<int:customer_id>/restore/", views.customer_restore, name="restore"),
    path("customers/<int:customer_id>/export/", views.customer_export, name="export"),
    path("customers/<int:customer_id>/erase/", views.customer_erase, name="erase"),
    path("customers/<int:customer_id>/history/", views.customer_history, name="history"),
    path("customers/<int:customer_id>/thread/", views.customer_thread, name="thread"),
    path("customers/<int:customer_id>/reveal/", views.customer_reveal, name="reveal"),
    path("customers/<int:customer_id>/contacts/new/", views.contact_create, name="contact_create"),
    path("customers/<int:customer_id>/consents/new/", views.consent_create, name="consent_create"),
    path("contacts/<int:contact_id>/reveal/", views.contact_reveal, name="contact_reveal"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="contact_delete"),
    path("contacts/<int:contact_id>/export/", views.contact_export, name="contact_export"),
    path("contacts/<int:contact_id>/erase/", views.contact_erase, name="contact_erase"),
    path("consents/<int:consent_id>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("customers/duplicates/", views.duplicate_queue, name="duplicates"),
    path("customers/duplicates/scan/", views.duplicate_scan_start, name="duplicate_scan"),
    path("customers/duplicates/<int:candidate_id>/dismiss/", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("customers/<int:customer_id>/duplicates/check/", views.duplicate_check, name="duplicate_check"),
    path("customers/<int:survivor_id>/merge/<int:loser_id>/", views.customer_merge, name="merge"),
    path("customers/merges/<int:merge_id>/undo/", views.merge_undo, name="merge_undo"),
    path("customers/regions/", views.region_options, name="region_options"),
    path("settings/catalog/", views.catalog, name="catalog"),
    path("settings/catalog/tags/", views.catalog_tag_create, name="catalog_tag_create"),
    path("settings/catalog/fields/", views.catalog_field_create, name="catalog_field_create"),
]
