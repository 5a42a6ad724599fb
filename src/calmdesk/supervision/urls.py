from django.urls import path

app_name = "supervision"

urlpatterns: list[object] = []
