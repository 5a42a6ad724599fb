from django.urls import path

from calmdesk.supervision import channel_views, views

app_name = "supervision"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("incidents/", views.incidents, name="incidents"),
    path("incidents/<int:incident_id>/", views.incident_detail, name="incident"),
    path(
        "incidents/<int:incident_id>/status/",
        views.incident_transition_view,
        name="incident-status",
    ),
    path("incidents/<int:incident_id>/note/", views.incident_note_view, name="incident-note"),
    path("incidents/<int:incident_id>/record/", views.incident_record_view, name="incident-record"),
    path("incidents/<int:incident_id>/action/", views.incident_action_view, name="incident-action"),
    path(
        "conversations/<int:conversation_id>/report/",
        views.conversation_report,
        name="conversation-report",
    ),
    path(
        "conversations/<int:conversation_id>/take-over/",
        views.conversation_take_over_view,
        name="conversation-take-over",
    ),
    path(
        "conversations/<int:conversation_id>/step-away/",
        views.conversation_step_away_view,
        name="conversation-step-away",
    ),
    path(
        "conversations/<int:conversation_id>/followups/",
        views.followup_add,
        name="conversation-followup",
    ),
    path("followups/", views.followups, name="followups"),
    path("followups/<int:followup_id>/close/", views.followup_close_view, name="followup-close"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications-read-all"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification-read",
    ),
    path("policy/", views.policy, name="policy"),
    path("channels/", channel_views.channels, name="channels"),
    path("channels/chat/", channel_views.channels_chat, name="channels-chat"),
    path("channels/webhooks/", channel_views.webhook_create, name="webhook-create"),
    path(
        "channels/webhooks/<int:subscription_id>/",
        channel_views.webhook_detail,
        name="webhook",
    ),
    path(
        "channels/webhooks/<int:subscription_id>/delete/",
        channel_views.webhook_delete,
        name="webhook-delete",
    ),
    path("blocks/", views.blocks, name="blocks"),
    path("blocks/<int:block_id>/", views.block_decide, name="block-decide"),
    path("identities/<int:identity_id>/block/", views.identity_block_view, name="identity-block"),
]
