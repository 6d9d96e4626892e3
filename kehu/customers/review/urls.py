from django.urls import path

from kehu.customers.review import views

app_name = "review"
urlpatterns = [
    path("review/", views.run_list, name="runs"),
    path("review/runs/<int:run_id>/", views.run_detail, name="run"),
    path("review/mine/", views.my_items, name="mine"),
    path("review/items/<int:item_id>/resolve/", views.item_resolve, name="resolve"),
    path("review/reassign/", views.reassign_page, name="reassign"),
]
