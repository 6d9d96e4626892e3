from django.urls import path

from kehu.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("customers/new/", views.customer_create, name="create"),
    path("customers/<int:customer_id>/", views.customer_detail, name="detail"),
    path("customers/<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:customer_id>/history/", views.customer_history, name="history"),
    path("customers/<int:customer_id>/reveal/", views.customer_reveal, name="reveal"),
    path("customers/<int:customer_id>/contacts/new/", views.contact_create, name="contact_create"),
    path("customers/<int:customer_id>/consents/new/", views.consent_create, name="consent_create"),
    path("contacts/<int:contact_id>/reveal/", views.contact_reveal, name="contact_reveal"),
    path("consents/<int:consent_id>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
]
