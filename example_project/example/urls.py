"""URLs of the example project: the admin, the webhooks, the REST API and the demo's start page."""

from django.contrib import admin
from django.urls import include, path

from demo.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    # The webhooks: give their full URLs to Zoom Connect ("Developer settings").
    path("zoomconnect/", include("django_zoomconnect.urls")),
    # The optional REST API (staff with model permissions: ZOOMCONNECT["API_PERMISSION_CLASSES"]).
    path("api/zoomconnect/", include("django_zoomconnect.api.urls")),
    # The browsable API's log-in link.
    path("api-auth/", include("rest_framework.urls")),
]
