from django.urls import path

from kehu.notifications import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.notification_page, name="list"),
    path("notifications/<int:notification_id>/read/", views.notification_read, name="read"),
    path("notifications/read-all/", views.notification_read_all, name="read_all"),
]
