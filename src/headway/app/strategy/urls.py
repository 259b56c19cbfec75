"""Routes of the strategy pages."""

from django.urls import path

from headway.app.strategy import goal_views, manual_views, map_views, objective_views, review_views

urlpatterns = [
    path("objectives/", objective_views.objectives, name="objectives"),
    path("objectives/new/", objective_views.objective_new, name="objective_new"),
    path("objectives/from-template/", objective_views.objectives_from_template, name="objectives_from_template"),
    path("objectives/<int:objective_id>/", objective_views.objective_detail, name="objective_detail"),
    path("objectives/<int:objective_id>/edit/", objective_views.objective_edit, name="objective_edit"),
    path("objectives/<int:objective_id>/delete/", objective_views.objective_delete, name="objective_delete"),
    path("goals/new/", goal_views.goal_new, name="goal_new"),
    path("goals/preview/", goal_views.goal_preview, name="goal_preview"),
    path("goals/<int:goal_id>/", goal_views.goal_detail, name="goal_detail"),
    path("goals/<int:goal_id>/revise/", goal_views.goal_revise, name="goal_revise"),
    path("goals/<int:goal_id>/delete/", goal_views.goal_delete, name="goal_delete"),
    path("strategy/map/", map_views.strategy_map, name="strategy_map"),
    path("strategy/relationships/", map_views.relationships, name="relationships"),
    path(
        "strategy/relationships/<int:relationship_id>/delete/",
        map_views.relationship_delete,
        name="relationship_delete",
    ),
    path("strategy/indicator/<slug:kpi_id>/", map_views.kpi_indicator, name="kpi_indicator"),
    path("departments/<int:department_id>/", map_views.department_page, name="department_page"),
    path("review/", review_views.review, name="review"),
    path("review/settings/", review_views.review_settings_save, name="review_settings"),
    path("review/done/", review_views.review_done, name="review_done"),
    path("manual/<slug:kpi_id>/", manual_views.manual_values, name="manual_values"),
]
