from django.urls import path

from kehu.workbench import views

app_name = "workbench"
urlpatterns = [
    path("workbench/", views.home, name="home"),
]
