from django.urls import path

from attt.core.urls import crud
from attt.registry import views as v

app_name = "registry"

urlpatterns = [
    path("systems/import/", v.SystemImportView.as_view(), name="system_import"),
    *crud("systems", "system", v.SystemListView, v.SystemDetailView, v.SystemEditView, v.SystemDeleteView),
    *crud("components", "component", *v.COMPONENT_VIEWS),
    *crud("servers", "server", *v.SERVER_VIEWS),
    *crud("domains", "domain", *v.DOMAIN_VIEWS),
    *crud("ip-ranges", "iprange", *v.IPRANGE_VIEWS),
    *crud("contacts", "contact", *v.CONTACT_VIEWS),
]
