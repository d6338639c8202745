from rest_framework.routers import DefaultRouter

from attt.monitoring.api import views

router = DefaultRouter()
router.register("sources", views.SourceViewSet, basename="eventsource")
router.register("events", views.EventViewSet, basename="event")
