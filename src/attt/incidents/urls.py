from attt.incidents.views import urlpatterns as urlpatterns

app_name = "incidents"
