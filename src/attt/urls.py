from django.conf import settings
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from attt.compliance.api.urls import router as compliance_router
from attt.core.api.exceptions import json_not_found
from attt.core.api.urls import router as core_router
from attt.core.api.views import MeView
from attt.core.auth import views as auth_views
from attt.core.views import pages
from attt.detection.api.urls import router as detection_router
from attt.incidents.api.urls import router as incidents_router
from attt.intel.api.urls import router as intel_router
from attt.monitoring.api.urls import router as monitoring_router
from attt.plans.api.urls import router as plans_router
from attt.registry.api.urls import router as registry_router
from attt.regulation.api.urls import router as regulation_router
from attt.vulns.api.urls import router as vulns_router

api_patterns = [
    path("", include(core_router.urls)),
    path("regulation/", include(regulation_router.urls)),
    path("registry/", include(registry_router.urls)),
    path("compliance/", include(compliance_router.urls)),
    path("plans/", include(plans_router.urls)),
    path("vulns/", include(vulns_router.urls)),
    path("incidents/", include(incidents_router.urls)),
    path("intel/", include(intel_router.urls)),
    path("monitoring/", include(monitoring_router.urls)),
    path("detection/", include(detection_router.urls)),
    path("ingest/", include("attt.monitoring.api.ingest_urls")),
    path("me/", MeView.as_view(), name="me"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:openapi"), name="docs"),
]

urlpatterns = [
    path("", pages.home, name="home"),
    path("login/", auth_views.login_view, name="login"),
    path("login/verify/", auth_views.login_verify_view, name="login_verify"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("profile/", auth_views.profile_view, name="profile"),
    path("profile/password/", auth_views.AtttPasswordChangeView.as_view(), name="password_change"),
    path("profile/2fa/", auth_views.totp_setup_view, name="totp_setup"),
    path("profile/2fa/off/", auth_views.totp_disable_view, name="totp_disable"),
    path("profile/tokens/", auth_views.token_create_view, name="token_create"),
    path("profile/tokens/<uuid:pk>/revoke/", auth_views.token_revoke_view, name="token_revoke"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("core/", include("attt.core.urls")),
    path("regulation/", include("attt.regulation.urls")),
    path("registry/", include("attt.registry.urls")),
    path("compliance/", include("attt.compliance.urls")),
    path("plans/", include("attt.plans.urls")),
    path("vulns/", include("attt.vulns.urls")),
    path("incidents/", include("attt.incidents.urls")),
    path("intel/", include("attt.intel.urls")),
    path("taxii2/", include("attt.intel.taxii.urls")),
    path("monitoring/", include("attt.monitoring.urls")),
    path("detection/", include("attt.detection.urls")),
    path("api/v1/", include((api_patterns, "api"))),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception, template_name="404.html")
