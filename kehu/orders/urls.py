from django.urls import path

from kehu.orders import views

app_name = "orders"

urlpatterns = [
    path("customers/<int:customer_id>/orders/", views.customer_orders, name="customer"),
    path("customers/<int:customer_id>/orders/card/", views.customer_card, name="customer_card"),
    path("customers/<int:customer_id>/payment-terms/", views.payment_terms, name="payment_terms"),
]
urlpatterns += [
    path("orders/import/", views.import_page, name="import"),
    path("orders/import/template/<str:kind>.<str:fmt>", views.import_template, name="import_template"),
    path("orders/import/<int:job_id>/", views.import_detail, name="import_detail"),
    path("orders/import/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("orders/import/<int:job_id>/commit/", views.import_commit, name="import_commit"),
    path("orders/import/<int:job_id>/errors.csv", views.import_errors, name="import_errors"),
]
