from rest_framework.routers import DefaultRouter

from attt.vulns.api import views

router = DefaultRouter()
router.register("warnings", views.VulnWarningViewSet, basename="vulnwarning")
router.register("leaks", views.LeakNoticeViewSet, basename="leaknotice")
router.register("vulnerabilities", views.VulnerabilityViewSet, basename="vulnerability")
