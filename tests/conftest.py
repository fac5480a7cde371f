"""Shared pytest fixtures for the django_zoomconnect test suite."""
