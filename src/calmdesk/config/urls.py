from django.urls import include, path

urlpatterns = [
    path("", include("calmdesk.workspace.urls")),
]
