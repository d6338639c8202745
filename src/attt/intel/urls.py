from attt.intel.views import urlpatterns as urlpatterns

app_name = "intel"
