"""The organization pages (credit, members) and the payment provider's webhook."""

from django.urls import path

from . import org_views

app_name = "organization"
urlpatterns = [
    path("organization/", org_views.organization_home, name="home"),
    path("organization/credit/", org_views.credit, name="credit"),
    path("organization/credit.csv", org_views.credit_csv, name="credit_csv"),
    path("organization/members/", org_views.members_list, name="members"),
    path("organization/members/2fa/", org_views.members_2fa, name="members_2fa"),
    path("organization/members/<int:pk>/role/", org_views.member_role, name="member_role"),
    path("organization/members/<int:pk>/remove/", org_views.member_remove, name="member_remove"),
    path(
        "organization/invitations/<int:pk>/revoke/",
        org_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("billing/webhook/", org_views.payment_webhook, name="payment_webhook"),
]
