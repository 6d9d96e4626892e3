from django.urls import path

from kehu.workdays import views

app_name = "workdays"
urlpatterns = [
    path("settings/calendar/", views.calendar_page, name="calendar"),
    path("settings/calendar/days/", views.day_set, name="day_set"),
    path("settings/calendar/days/<str:date>/delete/", views.day_delete, name="day_delete"),
    path("settings/calendar/seed/", views.calendar_seed, name="seed"),
]
