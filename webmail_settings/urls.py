"""Mounted at the site root: the portal lives under /portal/, the domain's Webmail tab next to
the other domain pages."""

from django.urls import path

from . import service_api, views

app_name = "portal"
urlpatterns = [
    path("portal/", views.home, name="home"),
    path("portal/applied/", views.apply_status, name="apply_status"),
    path("portal/preferences/", views.preferences, name="preferences"),
    path("portal/identities/", views.identities, name="identities"),
    path("portal/signatures/", views.signatures, name="signatures"),
    path("portal/signatures/new/", views.signature_create, name="signature_create"),
    path("portal/signatures/<int:pk>/", views.signature_edit, name="signature_edit"),
    path("portal/signatures/<int:pk>/delete/", views.signature_delete, name="signature_delete"),
    path("portal/details/", views.details, name="details"),
    path("portal/details/photo/", views.details_photo, name="details_photo"),
    path("portal/details/photo/remove/", views.details_photo_remove, name="details_photo_remove"),
    path("portal/address-book/", views.address_book, name="address_book"),
    path("portal/address-book.vcf", views.address_book_vcf, name="address_book_vcf"),
    path("portal/autoresponder/", views.autoresponder, name="autoresponder"),
    path("portal/forwarding/", views.forwarding, name="forwarding"),
    path("portal/spam/", views.spam, name="spam"),
    path("portal/mailboxes/", views.mailboxes, name="mailboxes"),
    path("portal/mailboxes/connect/", views.mailbox_connect, name="mailbox_connect"),
    path("portal/mailboxes/<int:pk>/", views.mailbox, name="mailbox"),
    path("portal/mailboxes/<int:pk>/progress/", views.mailbox_progress, name="mailbox_progress"),
    path(
        "portal/mailboxes/<int:pk>/disconnect/",
        views.mailbox_disconnect,
        name="mailbox_disconnect",
    ),
    *(
        path(
            f"portal/mailboxes/<int:pk>/{action}/",
            views.mailbox_action,
            {"action": action},
            name=f"mailbox_{action}",
        )
        for action in ("pause", "resume", "sync")
    ),
    path("portal/security/", views.security, name="security"),
    path("portal/api/settings", views.api_settings, name="api_settings"),
    path("portal/api/service/settings", service_api.settings, name="service_settings"),
    path("portal/mail-apps/", views.mail_apps, name="mail_apps"),
    path("portal/mail-apps/mail.mobileconfig", views.mobileconfig, name="mobileconfig"),
    path("domains/<int:pk>/webmail/", views.domain_webmail, name="domain_webmail"),
    path("email-services/", views.email_services, name="email_services"),
    path("email-services/new/", views.email_service_create, name="email_service_create"),
    path("email-services/<int:pk>/", views.email_service_edit, name="email_service_edit"),
    path(
        "email-services/<int:pk>/delete/",
        views.email_service_delete,
        name="email_service_delete",
    ),
    path(
        "email-services/<int:pk>/visibility/",
        views.email_service_visibility,
        name="email_service_visibility",
    ),
]
