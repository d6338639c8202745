from rest_framework.routers import DefaultRouter

from attt.registry.api import views

router = DefaultRouter()
router.register("systems", views.InformationSystemViewSet, basename="registry-system")
router.register("components", views.ComponentViewSet, basename="registry-component")
router.register("servers", views.ServerViewSet, basename="registry-server")
router.register("domains", views.DomainViewSet, basename="registry-domain")
router.register("ip-ranges", views.IPRangeViewSet, basename="registry-iprange")
router.register("contacts", views.ContactViewSet, basename="registry-contact")
