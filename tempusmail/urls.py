from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from security import views as security_views

from . import views

# The support staff's site says whose it is (not "Django administration").
admin.site.site_header = "TempusMail administration"
admin.site.site_title = "TempusMail admin"
admin.site.index_title = "Support"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", security_views.login, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/login/", security_views.admin_login),
    path("admin/", admin.site.urls),
    path("security/", include("security.urls")),
    path("api/", include("tempusmail.api_urls")),
    path("domains/", include("domains.urls")),
    path("", include("domains.autoconfig_urls")),
    path("", include("domains.org_urls")),
    path("", include("accounts.urls")),
    path("", include("webmail_settings.urls")),
]
