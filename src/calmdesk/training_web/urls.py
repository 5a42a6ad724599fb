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
    path("team/<int:trainee_id>/", views.practice_trainee, name="trainee"),
    path("scenarios/", views.scenario_list, name="scenarios"),
    path("scenarios/new/", views.scenario_edit, name="scenario-new"),
    path("scenarios/<slug:scenario_id>/edit/", views.scenario_edit, name="scenario-edit"),
    path("scenarios/<slug:scenario_id>/delete/", views.scenario_delete, name="scenario-delete"),
    path(
        "scenarios/from-conversation/<int:conversation_id>/",
        views.scenario_from_conversation,
        name="scenario-from-conversation",
    ),
]
