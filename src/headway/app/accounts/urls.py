from django.contrib.auth import views as auth_views
from django.urls import path

from headway.app.accounts import settings_views, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("account/", views.account, name="account"),
    path("switch/<int:org_id>/", views.switch_org, name="switch_org"),
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("settings/", settings_views.org_settings, name="settings_org"),
    path("settings/members/", settings_views.members, name="settings_members"),
    path("settings/members/<int:member_id>/", settings_views.member_update, name="member_update"),
    path("settings/members/<int:member_id>/remove/", settings_views.member_remove, name="member_remove"),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        settings_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/departments/", settings_views.departments, name="settings_departments"),
    path("settings/departments/<int:department_id>/", settings_views.department_update, name="department_update"),
    path(
        "settings/departments/<int:department_id>/delete/",
        settings_views.department_delete,
        name="department_delete",
    ),
]
