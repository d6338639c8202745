from rest_framework.routers import DefaultRouter

from attt.intel.api import views

router = DefaultRouter()
router.register("indicators", views.IndicatorViewSet, basename="intel-indicator")
router.register("collections", views.CollectionViewSet, basename="intel-collection")
router.register("techniques", views.TechniqueViewSet, basename="intel-technique")
