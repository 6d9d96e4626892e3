from django.urls import path

from kehu.access import views

app_name = "access"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/password/", views.password_change, name="password_change"),
    path("users/", views.user_admin_list, name="users"),
    path("users/<int:user_id>/password-reset/", views.password_reset, name="password_reset"),
    path("account/tokens/", views.token_list, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("users/<int:user_id>/tokens/", views.user_token_list, name="user_tokens"),
    path("users/<int:user_id>/tokens/<int:token_id>/revoke/", views.user_token_revoke, name="user_token_revoke"),
    path("users/<int:user_id>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<int:user_id>/reactivate/", views.user_reactivate, name="user_reactivate"),
]
