"""Celery tasks: thin wrappers that wake a worker to call one service with primitive arguments.

Tasks take primary keys, strings and numbers, never model instances, and hold no business rules:
the admin, the management commands and the REST API call the same service functions directly.
"""

from __future__ import annotations
