"""Portal routes for signing in, two-factor, the dashboard, account switching and API keys."""

from django.urls import path

from tenants import account_views, password_views, views

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.two_factor_verify_view, name="two-factor-verify"),
    path("account/two-factor/", views.two_factor_setup_view, name="two-factor-setup"),
    path("account/recovery-codes/", views.recovery_codes_view, name="recovery-codes"),
    path("password/reset/", password_views.PasswordResetView.as_view(), name="password-reset"),
    path("password/reset/sent/", password_views.PasswordResetDoneView.as_view(), name="password-reset-sent"),
    path(
        "password/reset/<uidb64>/<token>/",
        password_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password/reset/done/", password_views.PasswordResetCompleteView.as_view(), name="password-reset-done"
    ),
    path("logout/", views.logout_view, name="logout"),
    path("switch/", views.switch_account_view, name="switch-account"),
    path("account/auth-token/", account_views.auth_token_view, name="auth-token"),
    path("account/team/", account_views.team_view, name="team"),
    path(
        "account/team/invitations/<str:sid>/revoke/",
        account_views.invitation_revoke_view,
        name="invitation-revoke",
    ),
    path(
        "invitations/<str:account_sid>/<str:token>/", account_views.invitation_accept_view, name="invitation"
    ),
    path("keys/", views.keys_view, name="keys"),
    path("keys/<str:sid>/revoke/", views.key_revoke_view, name="key-revoke"),
]
