from django.urls import path

from . import views

app_name = "domains"
urlpatterns = [
    path("", views.domain_list, name="list"),
    path("add/", views.domain_create, name="create"),
    path("<int:pk>/", views.domain_detail, name="detail"),
    path("<int:pk>/settings/", views.domain_settings, name="settings"),
    path("<int:pk>/delete/", views.domain_delete, name="delete"),
]
