from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_otp_view, name="login_otp"),
    path("logout/", views.logout_view, name="logout"),
    path("my/", views.my_data, name="my_data"),
    path("my/notifications/<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("directory/", views.directory, name="directory"),
    path("directory/<str:code>/", views.agency_detail, name="agency_detail"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
]
