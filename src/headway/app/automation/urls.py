"""Routes of the automation pages."""

from django.urls import path

from headway.app.automation import views

urlpatterns = [
    path("alerts/", views.alert_inbox, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/snooze/", views.alert_snooze, name="alert_snooze"),
    path("alerts/rules/", views.rule_list, name="alert_rules"),
    path("alerts/rules/new/", views.rule_new, name="alert_rule_new"),
    path("alerts/rules/<int:rule_id>/", views.rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:rule_id>/delete/", views.rule_delete, name="alert_rule_delete"),
    path("alerts/channels/", views.channel_list, name="channels"),
    path("alerts/channels/new/", views.channel_new, name="channel_new"),
    path("alerts/channels/<int:channel_id>/", views.channel_edit, name="channel_edit"),
    path("alerts/channels/<int:channel_id>/delete/", views.channel_delete, name="channel_delete"),
    path("alerts/deliveries/", views.delivery_log, name="deliveries"),
    path("jobs/", views.job_list, name="jobs"),
]
