from rest_framework.routers import DefaultRouter

from attt.compliance.api import dossiers, oversight

router = DefaultRouter()
dossiers.register(router)
oversight.register(router)
