app_name = "taxii"
urlpatterns: list = []
