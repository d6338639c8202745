from django.urls import path

from attt.monitoring.api.views import IngestView

urlpatterns: list = [path("events", IngestView.as_view(), name="ingest-events")]
