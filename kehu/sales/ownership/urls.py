from django.urls import path

from kehu.sales.ownership import views

app_name = "ownership"
urlpatterns = [
    path("ownership/registrations/", views.registrations, name="registrations"),
    path("ownership/registrations/<int:registration_id>/", views.registration_detail, name="registration"),
    path("ownership/pool/", views.pool, name="pool"),
    path("ownership/referrals/", views.referrals, name="referrals"),
    path("ownership/disputes/", views.disputes, name="disputes"),
    path("ownership/disputes/<int:dispute_id>/", views.dispute_detail, name="dispute"),
    path("ownership/customers/<int:customer_id>/release/", views.release, name="release"),
]
