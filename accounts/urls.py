from django.urls import path

from . import bulk_views, group_views, views

app_name = "accounts"
urlpatterns = [
    path("domains/<int:domain_pk>/accounts/", views.account_list, name="list"),
    path("domains/<int:domain_pk>/accounts/new/", views.account_create, name="create"),
    path("domains/<int:domain_pk>/accounts/<int:pk>/row/", views.account_row, name="row"),
    path("domains/<int:domain_pk>/accounts/bulk/", bulk_views.account_bulk, name="bulk"),
    path("domains/<int:domain_pk>/accounts/import/", bulk_views.account_import, name="import"),
    path("domains/<int:domain_pk>/accounts/export.csv", bulk_views.account_export, name="export"),
    path(
        "domains/<int:domain_pk>/accounts/aliases.csv",
        bulk_views.alias_export,
        name="export_aliases",
    ),
    path("domains/<int:domain_pk>/accounts/jobs/<int:pk>/", bulk_views.job_detail, name="job"),
    path(
        "domains/<int:domain_pk>/accounts/jobs/<int:pk>/progress/",
        bulk_views.job_progress,
        name="job_progress",
    ),
    path(
        "domains/<int:domain_pk>/accounts/jobs/<int:pk>/start/",
        bulk_views.import_start,
        name="import_start",
    ),
    path("accounts/<int:pk>/", views.account_settings, name="settings"),
    path("accounts/<int:pk>/status/", views.account_status, name="status"),
    path("accounts/<int:pk>/password/", views.account_password, name="password"),
    # not ".../aliases/": that is the Aliases section of the settings page (GET)
    path("accounts/<int:pk>/aliases/add/", views.alias_add, name="alias_add"),
    path(
        "accounts/<int:pk>/aliases/<int:alias_pk>/delete/", views.alias_delete, name="alias_delete"
    ),
    path("accounts/<int:pk>/deactivate/", views.account_deactivate, name="deactivate"),
    path("accounts/<int:pk>/reactivate/", views.account_reactivate, name="reactivate"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="delete"),
    path("accounts/<int:pk>/subscription/change/", views.account_subscription, name="subscription"),
    path("accounts/<int:pk>/photo/", views.account_photo, name="photo"),
    path("accounts/<int:pk>/photo/upload/", views.account_photo_upload, name="photo_upload"),
    path("accounts/<int:pk>/photo/remove/", views.account_photo_remove, name="photo_remove"),
    path("organization/overview/", views.organization_dashboard, name="dashboard"),
    path("groups/", group_views.group_list, name="groups"),
    path("groups/<int:pk>/", group_views.group_detail, name="group"),
    path("groups/<int:pk>/members/add/", group_views.group_member_add, name="group_member_add"),
    path(
        "groups/<int:pk>/members/<int:account_pk>/remove/",
        group_views.group_member_remove,
        name="group_member_remove",
    ),
    path("groups/<int:pk>/delete/", group_views.group_delete, name="group_delete"),
    path("accounts/<int:pk>/<slug:section>/", views.account_settings, name="settings"),
]
