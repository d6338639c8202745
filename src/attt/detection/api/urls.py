from rest_framework.routers import DefaultRouter

from attt.detection.api import views

router = DefaultRouter()
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("rules", views.SigmaRuleViewSet, basename="sigmarule")
