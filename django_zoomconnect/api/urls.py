"""The REST API's URLs; include them under any prefix, e.g. ``path("api/zoomconnect/", include(...))``."""

from importlib.util import find_spec

from rest_framework.routers import APIRootView, DefaultRouter

from . import views
from .permissions import SettingsPermissionsMixin

if find_spec("drf_spectacular") is not None:
    # Describes the views to drf-spectacular, in this API's schema or the project's.
    from . import openapi  # noqa: F401

app_name = "zoomconnect-api"


class RootView(SettingsPermissionsMixin, APIRootView):
    """The API's index, behind the same permissions as the rest."""


class Router(DefaultRouter):
    APIRootView = RootView


router = Router()
router.register("messages", views.MessageViewSet, basename="message")
router.register("batches", views.BatchViewSet, basename="batch")
router.register("templates", views.TemplateViewSet, basename="template")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("groups", views.GroupViewSet, basename="group")

urlpatterns = router.urls
