"""The REST API's URLs; include them under any prefix, e.g. ``path("api/zoomconnect/", include(...))``."""

from rest_framework.routers import DefaultRouter

from . import views

app_name = "zoomconnect-api"

router = DefaultRouter()
router.register("messages", views.MessageViewSet, basename="message")
router.register("batches", views.BatchViewSet, basename="batch")
router.register("templates", views.TemplateViewSet, basename="template")

urlpatterns = router.urls
