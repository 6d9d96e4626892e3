from django.urls import path

from kehu.service_desk.tickets import views

app_name = "tickets"
urlpatterns = [
    path("service/", views.ticket_board, name="board"),
    path("service/list/", views.ticket_list, name="list"),
    path("service/new/", views.ticket_create, name="create"),
    path("service/new/customers/", views.customer_search, name="customer_search"),
    path("service/on-duty/", views.duty_roster, name="duty"),
    path("service/on-duty/<int:shift_id>/delete/", views.duty_delete, name="duty_delete"),
    path("service/<int:ticket_id>/", views.ticket_detail, name="detail"),
    path("service/<int:ticket_id>/act/", views.ticket_act, name="act"),
    path("service/<int:ticket_id>/assign/", views.ticket_assign, name="assign"),
]
