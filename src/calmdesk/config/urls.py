from django.urls import include, path

from calmdesk.api.views.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("supervision/", include("calmdesk.supervision.urls")),
    path("practice/", include("calmdesk.training_web.urls")),
    path("chat/", include("calmdesk.channels.urls")),
    path("", include("calmdesk.workspace.urls")),
]
