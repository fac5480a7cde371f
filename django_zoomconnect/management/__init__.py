"""Management commands of django_zoomconnect."""
