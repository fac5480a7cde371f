"""The django_zoomconnect test suite."""
