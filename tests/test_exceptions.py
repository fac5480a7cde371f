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
