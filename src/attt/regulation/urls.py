from django.urls import path

from attt.regulation import views

app_name = "regulation"

urlpatterns = [
    path("", views.RegimeListView.as_view(), name="regime_list"),
    path("assess/", views.AssessView.as_view(), name="assess"),
    path("<str:code>/", views.RegimeDetailView.as_view(), name="regime_detail"),
]
