from django.urls import path

from . import views

app_name = "eservices"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("items/<str:code>/", views.item_detail, name="item"),
    path("items/<str:code>/apply/", views.apply, name="apply"),
    path("my/", views.my_list, name="my_list"),
    path("my/<str:number>/", views.my_detail, name="my_detail"),
    path("my/<str:number>/edit/", views.apply, {"code": ""}, name="apply_resume"),
    path("my/<str:number>/review/", views.review, name="review"),
    path("my/<str:number>/done/", views.confirmation, name="confirmation"),
    path("my/<str:number>/receipt.pdf", views.receipt_pdf, name="receipt"),
    path("my/<str:number>/supplement/", views.supplement, name="supplement"),
    path("my/<str:number>/withdraw/", views.withdraw, name="withdraw"),
    path("staff/", views.staff_inbox, name="staff_inbox"),
    path("staff/bulk/", views.staff_bulk, name="staff_bulk"),
    path("staff/supervisor/", views.staff_supervisor, name="staff_supervisor"),
    path("staff/items/", views.staff_items, name="staff_items"),
    path("staff/counter/", views.staff_counter, name="staff_counter"),
    path("staff/counter/form/", views.staff_counter_form, name="staff_counter_form"),
    path("staff/items/<str:code>/", views.staff_item, name="staff_item"),
    path("staff/items/<str:code>/form/", views.staff_form_builder, name="staff_form_builder"),
    path("staff/<str:number>/", views.staff_case, name="staff_case"),
    path("staff/<str:number>/action/", views.staff_action, name="staff_action"),
    path("staff/<str:number>/files/<int:attachment_id>/", views.staff_attachment, name="staff_attachment"),
]
