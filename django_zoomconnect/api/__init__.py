"""The optional REST API (Django REST framework): messages, batches, templates, contacts and groups.

Include ``django_zoomconnect.api.urls`` to expose it. The views are thin: they validate input,
call the same services as the admin and the tasks, and render the rows. Who may use it is the
``API_PERMISSION_CLASSES`` setting (admin users only by default): sending SMS costs money.
"""
