from django.urls import path

from calmdesk.channels import views

app_name = "channels"

urlpatterns = [
    path("widget.js", views.widget_script, name="chat-widget"),
    path("api/<slug:slug>/session", views.session_start, name="chat-session"),
    path("api/messages", views.messages, name="chat-messages"),
    path("api/typing", views.visitor_typing, name="chat-visitor-typing"),
    path("api/stream", views.stream, name="chat-stream"),
    path(
        "agent/conversations/<int:conversation_id>/typing",
        views.agent_typing,
        name="chat-agent-typing",
    ),
]
