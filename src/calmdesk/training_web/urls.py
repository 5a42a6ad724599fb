from django.urls import path

from calmdesk.training_web import views

app_name = "practice"

urlpatterns = [
    path("", views.practice_home, name="home"),
    path("start/", views.practice_start, name="start"),
    path("runs/<int:run_id>/", views.practice_run, name="run"),
    path("runs/<int:run_id>/reply/", views.practice_reply, name="reply"),
    path("runs/<int:run_id>/coach/", views.practice_coach, name="coach"),
    path("runs/<int:run_id>/finish/", views.practice_finish, name="finish"),
    path("team/", views.practice_team, name="team"),
]
