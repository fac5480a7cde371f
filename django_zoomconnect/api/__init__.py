"""The optional REST API (Django REST framework): messages, batches, templates, contacts and groups.

Include ``django_zoomconnect.api.urls`` to expose it. The views are thin: they validate input,
call the same services as the admin and the tasks, and render the rows. Who may use it is the
``API_PERMISSION_CLASSES`` setting (by default, as in the admin: staff users with the model
permissions, and "Can send SMS" to send): sending SMS costs money.
"""
