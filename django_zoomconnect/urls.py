"""The webhook URLs; include them under any prefix, e.g. ``path("zoomconnect/", include(...))``."""

from django.urls import path

from . import views

app_name = "zoomconnect"

urlpatterns = [
    path("webhooks/reply/", views.reply, name="reply"),
    path("webhooks/delivery-report/", views.delivery_report, name="delivery-report"),
]
