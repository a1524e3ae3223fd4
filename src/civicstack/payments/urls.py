from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("", views.my_payments, name="my_payments"),
    path("orders/<str:number>/", views.order_detail, name="order_detail"),
    path("orders/<str:number>/notice.pdf", views.order_notice_pdf, name="order_notice_pdf"),
    path("orders/<str:number>/checkout/", views.order_checkout, name="order_checkout"),
    path("orders/<str:number>/wallet/", views.order_pay_wallet, name="order_pay_wallet"),
    path("sandbox/checkout/<str:reference>/", views.sandbox_checkout, name="sandbox_checkout"),
    path("staff/settlements/", views.settlement_list, name="settlement_list"),
    path("staff/settlements/<int:pk>/", views.settlement_detail, name="settlement_detail"),
]
