from django.urls import path

from . import views

app_name = "chatbot"

urlpatterns = [
    path("", views.chat, name="chat"),
    path("staff/", views.staff_statistics, name="staff_statistics"),
    path("staff/review/", views.staff_review, name="staff_review"),
    path("staff/review/resolve/", views.staff_review_resolve, name="staff_review_resolve"),
    path("staff/knowledge/", views.staff_knowledge, name="staff_knowledge"),
    path("staff/knowledge/export.<str:file_format>", views.staff_export, name="staff_export"),
]
