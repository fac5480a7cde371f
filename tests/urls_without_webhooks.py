"""A URLconf that forgot ``django_zoomconnect.urls`` (for the commands that look the webhooks up)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
