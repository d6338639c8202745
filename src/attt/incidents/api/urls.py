from rest_framework.routers import DefaultRouter

from attt.incidents.api import views

router = DefaultRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("tasks", views.IncidentTaskViewSet, basename="incidenttask")
router.register("observables", views.ObservableViewSet, basename="observable")
router.register("members", views.NetworkMemberViewSet, basename="networkmember")
