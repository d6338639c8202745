from attt.vulns.views import urlpatterns as urlpatterns

app_name = "vulns"
