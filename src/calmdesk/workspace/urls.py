from django.contrib.auth import views as auth_views
from django.urls import path

from calmdesk.workspace import views

app_name = "workspace"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="workspace/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.inbox, name="inbox"),
    path("conversations/<int:conversation_id>/", views.conversation_detail, name="conversation"),
    path(
        "conversations/<int:conversation_id>/reply/",
        views.conversation_reply,
        name="conversation-reply",
    ),
    path(
        "conversations/<int:conversation_id>/note/",
        views.conversation_note,
        name="conversation-note",
    ),
    path(
        "conversations/<int:conversation_id>/assign/",
        views.conversation_assign_view,
        name="conversation-assign",
    ),
    path(
        "conversations/<int:conversation_id>/status/",
        views.conversation_status,
        name="conversation-status",
    ),
    path(
        "conversations/<int:conversation_id>/priority/",
        views.conversation_priority,
        name="conversation-priority",
    ),
    path(
        "conversations/<int:conversation_id>/coach/",
        views.conversation_coach,
        name="conversation-coach",
    ),
    path(
        "attachments/<int:attachment_id>/download/",
        views.attachment_download,
        name="attachment",
    ),
    path("customers/", views.customer_list, name="customers"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer"),
    path("customers/<int:customer_id>/notes/", views.customer_notes, name="customer-notes"),
    path("customers/<int:customer_id>/merge/", views.customer_merge_view, name="customer-merge"),
]
