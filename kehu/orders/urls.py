from django.urls import path

from kehu.orders import views

app_name = "orders"

urlpatterns = [
    path("customers/<int:customer_id>/orders/", views.customer_orders, name="customer"),
    path("customers/<int:customer_id>/orders/card/", views.customer_card, name="customer_card"),
    path("customers/<int:customer_id>/payment-terms/", views.payment_terms, name="payment_terms"),
]
