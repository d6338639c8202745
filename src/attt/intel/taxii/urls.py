from django.urls import path, re_path

from attt.intel.taxii import views

app_name = "taxii"
urlpatterns = [
    path("", views.discovery, name="discovery"),
    path("<slug:root>/", views.api_root, name="api_root"),
    path("<slug:root>/collections/", views.collection_list, name="collections"),
    path("<slug:root>/collections/<str:pk>/", views.collection_detail, name="collection"),
    path("<slug:root>/collections/<str:pk>/objects/", views.objects, name="objects"),
    path("<slug:root>/collections/<str:pk>/objects/<str:object_id>/", views.object_detail, name="object"),
    path(
        "<slug:root>/collections/<str:pk>/objects/<str:object_id>/versions/",
        views.object_versions,
        name="versions",
    ),
    path("<slug:root>/collections/<str:pk>/manifest/", views.manifest, name="manifest"),
    # taxii2-client polls the status without the trailing slash.
    re_path(r"^(?P<root>[-\w]+)/status/(?P<status_id>[^/]+)/?$", views.status, name="status"),
]
