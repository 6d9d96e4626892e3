from django.urls import path

from kehu.surveys import views

app_name = "surveys"
urlpatterns = [
    path("surveys/", views.campaign_list, name="list"),
    path("surveys/campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("surveys/campaigns/<int:campaign_id>/links.csv", views.links_export, name="links_export"),
    path("surveys/campaigns/<int:campaign_id>/enter/<int:customer_id>/", views.entry_form, name="enter"),
    path("surveys/questionnaires/", views.questionnaire_list, name="questionnaires"),
    path("surveys/questionnaires/<int:questionnaire_id>/", views.questionnaire_detail, name="questionnaire"),
    path("surveys/interviews/", views.interview_list, name="interviews"),
    # the public pages of a personal link (no login): short, for a text message or a QR code
    path("s/thanks/", views.thanks, name="thanks"),
    path("s/<str:token>/", views.respond, name="respond"),
]
