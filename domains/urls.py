from django.urls import path

from . import views

app_name = "domains"
urlpatterns = [
    path("", views.domain_list, name="list"),
    path("add/", views.domain_create, name="create"),
    path("notices/dismiss/", views.notices_dismiss, name="notices_dismiss"),
    path("<int:pk>/", views.domain_detail, name="detail"),
    path("<int:pk>/settings/", views.domain_settings, name="settings"),
    path("<int:pk>/delete/", views.domain_delete, name="delete"),
    path("<int:pk>/dns/", views.domain_dns, name="dns"),
    path("<int:pk>/dns/verify/", views.domain_verify, name="verify"),
    path("<int:pk>/dns/check/", views.domain_dns_check, name="dns_check"),
    path("<int:pk>/dns/dkim/rotate/", views.dkim_rotate, name="dkim_rotate"),
    path("<int:pk>/dns/dkim/retire/", views.dkim_retire, name="dkim_retire"),
]
