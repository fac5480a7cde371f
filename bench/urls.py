"""The real webhook views under ``zc/`` and the floor beside them, in one project, one server."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

FLOOR_PATH = "/floor/"
REPORT_PATH = "/zc/webhooks/delivery-report/"


@csrf_exempt
def floor(request: HttpRequest) -> HttpResponse:
    """The least any receiver must do: store the raw body with one INSERT (it commits), answer 200."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor_event (body, received_at) VALUES (%s, %s)",
            [request.body.decode("latin-1"), timezone.now()],
        )
    return HttpResponse("OK", content_type="text/plain")


urlpatterns = [
    path(FLOOR_PATH.strip("/") + "/", floor),
    path("zc/", include("django_zoomconnect.urls")),
]
