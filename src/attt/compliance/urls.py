"""Each views module of the app owns its URL patterns; this file only joins them."""

from attt.compliance.views import dossiers, oversight

app_name = "compliance"

urlpatterns = [*dossiers.urlpatterns, *oversight.urlpatterns]
