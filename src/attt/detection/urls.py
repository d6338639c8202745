from attt.detection.views import urlpatterns as urlpatterns

app_name = "detection"
