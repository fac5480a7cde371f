"""The ``manage.py zoomconnect_*`` commands."""
