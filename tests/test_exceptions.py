"""Tests for exceptions.py: the hierarchy callers rely on to decide what to do next."""

from django.core.exceptions import ImproperlyConfigured

from django_zoomconnect import exceptions
from django_zoomconnect.exceptions import ConfigurationError, ZoomConnectError


def test_a_configuration_error_is_improperly_configured_and_not_an_api_failure():
    # So that ``except ZoomConnectError`` around an API call never hides a wrong setting.
    assert issubclass(ConfigurationError, ImproperlyConfigured)
    assert not issubclass(ConfigurationError, ZoomConnectError)


def test_every_other_error_is_a_zoomconnect_error():
    classes = [
        value
        for value in vars(exceptions).values()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == exceptions.__name__
    ]
    assert len(classes) > 15
    assert [cls for cls in classes if not issubclass(cls, ZoomConnectError)] == [ConfigurationError]


def test_which_failures_every_call_would_meet():
    every_call = [
        exceptions.ConnectError("refused"),
        exceptions.ConnectTimeoutError("slow"),
        exceptions.ReadTimeoutError("no answer"),
        exceptions.ConnectionLostError("reset"),
        exceptions.AuthenticationError("401", status=401),
    ]
    one_call = [
        exceptions.ServerError("500", status=500),
        exceptions.RateLimitedError("429", status=429),
        exceptions.InvalidRequestError("400", status=400),
        exceptions.NotFoundError("404", status=404),
        exceptions.PhoneNumberError("bad"),
        ValueError("not ours"),
    ]
    assert [exc for exc in every_call if not exceptions.fails_every_call(exc)] == []
    assert [exc for exc in one_call if exceptions.fails_every_call(exc)] == []
