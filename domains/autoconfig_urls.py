"""Mounted at the site root: the addresses mail clients ask for their settings."""

from django.urls import path

from . import views

app_name = "autoconfig"
urlpatterns = [
    path("mail/config-v1.1.xml", views.autoconfig_thunderbird, name="thunderbird_host"),
    path(
        ".well-known/autoconfig/mail/config-v1.1.xml",
        views.autoconfig_thunderbird,
        name="thunderbird",
    ),
    path("autodiscover/autodiscover.xml", views.autodiscover, name="autodiscover"),
    path("Autodiscover/Autodiscover.xml", views.autodiscover, name="autodiscover_outlook"),
]
