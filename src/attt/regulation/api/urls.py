from rest_framework.routers import DefaultRouter

from attt.regulation.api import views

router = DefaultRouter()
router.register("regimes", views.RegimeViewSet, basename="regime")
router.register("assess", views.AssessViewSet, basename="assess")
