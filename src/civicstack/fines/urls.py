from django.urls import path

from . import views

app_name = "fines"

urlpatterns = [
    path("lookup/", views.lookup, name="lookup"),
    path("cases/<str:number>/pay/", views.pay, name="pay"),
    path("staff/cases/", views.staff_case_list, name="staff_case_list"),
    path("staff/cases/new/", views.staff_case_issue, name="staff_case_issue"),
    path("staff/cases/<str:number>/", views.staff_case_detail, name="staff_case_detail"),
    path("staff/cases/<str:number>/<str:action>/", views.staff_case_action, name="staff_case_action"),
    path("staff/statistics/", views.staff_statistics, name="staff_statistics"),
]
