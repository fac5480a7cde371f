"""URLs for the test project, laid out as the README tells users to."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("zoomconnect/", include("django_zoomconnect.urls")),
]
