from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


@login_required
def my_payments(request: HttpRequest) -> HttpResponse:
    orders = selectors.orders_of_user(request.user)
    return render(request, "payments/my_payments.html", {"orders": orders})
