from attt.monitoring.views import urlpatterns as urlpatterns

app_name = "monitoring"
