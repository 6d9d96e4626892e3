from django.urls import path

from kehu.qualification.blacklist import views

app_name = "blacklist"
urlpatterns = [
    path("blacklist/", views.entry_list, name="list"),
    path("blacklist/<int:entry_id>/", views.entry_detail, name="entry"),
    path("blacklist/disqualifications/", views.disqualification_list, name="disqualifications"),
    path("blacklist/disqualifications/new/", views.disqualification_new, name="disqualification_new"),
    path("blacklist/disqualifications/<int:disqualification_id>/", views.disqualification_detail,
         name="disqualification"),
    path("blacklist/disqualifications/<int:disqualification_id>/evidence/<int:evidence_id>/",
         views.evidence_download, name="evidence"),
    path("blacklist/hits/", views.hit_list, name="hits"),
    path("blacklist/hits/<int:hit_id>/review/", views.hit_review, name="hit_review"),
]
