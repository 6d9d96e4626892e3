from django.urls import path

from kehu.engagement.care import views

app_name = "care"
urlpatterns = [
    path("care/", views.reminders, name="reminders"),
    path("care/run/", views.run, name="run"),
    path("care/notices/", views.notice_create, name="notice_create"),
    path("care/reminders/<int:reminder_id>/<str:action>/", views.reminder_settle, name="settle"),
    path("care/contacts/<int:contact_id>/", views.profile, name="profile"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/token/", views.token, name="token"),
    path("calendar/feed/<str:secret>.ics", views.feed, name="feed"),
]
