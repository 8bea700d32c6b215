"""Mounted at the site root: the portal lives under /portal/, the domain's Webmail tab next to
the other domain pages."""

from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("portal/", views.home, name="home"),
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
    path("portal/security/", views.security, name="security"),
    path("portal/api/settings", views.api_settings, name="api_settings"),
    path("domains/<int:pk>/webmail/", views.domain_webmail, name="domain_webmail"),
]
