"""Migrations of the zoomconnect app."""
