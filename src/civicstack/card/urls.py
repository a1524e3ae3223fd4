from django.urls import path

from . import views, views_money

app_name = "card"

urlpatterns = [
    path("", views.my_cards, name="my_cards"),
    path("merchants/", views_money.merchants, name="merchants"),
    path("points/roots/", views_money.points_roots, name="points_roots"),
    path("points/<int:entry_id>/receipt.json", views_money.points_receipt, name="points_receipt"),
    path("apply/", views.apply, name="apply"),
    path("applications/<str:number>/", views.application_done, name="application_done"),
    path("applications/<str:number>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("cards/<str:number>/<str:action>/", views.card_action, name="card_action"),
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/applications/", views.staff_queue, name="staff_queue"),
    path("staff/applications/new/", views.staff_application_new, name="staff_application_new"),
    path("staff/applications/<str:number>/", views.staff_application, name="staff_application"),
    path(
        "staff/applications/<str:number>/photo", views.staff_application_photo, name="staff_application_photo"
    ),
    path(
        "staff/applications/<str:number>/<str:action>/",
        views.staff_application_action,
        name="staff_application_action",
    ),
    path("staff/cards/<str:number>/", views.staff_card, name="staff_card"),
    path("staff/cards/<str:number>/top-up/", views_money.staff_card_top_up, name="staff_card_top_up"),
    path("staff/cards/<str:number>/<str:action>/", views.staff_card_action, name="staff_card_action"),
    path("staff/statistics/", views.staff_statistics, name="staff_statistics"),
    path("staff/events/", views.staff_events, name="staff_events"),
    path("staff/events/<int:event_id>/", views.staff_event, name="staff_event"),
    path("staff/events/<int:event_id>/<str:action>/", views.staff_event_action, name="staff_event_action"),
    path("staff/readers/", views_money.staff_readers, name="staff_readers"),
    path("staff/rules/", views_money.staff_rules, name="staff_rules"),
    path("staff/uses/flagged/", views_money.staff_flagged_uses, name="staff_flagged_uses"),
    path("<str:number>/wallet/", views_money.wallet, name="wallet"),
]
