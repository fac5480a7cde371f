"""Benchmarks of django-zoomconnect against the floor of the work they must do: ``python -m bench``.

Not a test: it prints one table of figures, each beside its yardstick(s), with the ratio and the
aim of issue 14 (met or NOT MET), on SQLite (a file) and PostgreSQL. Every figure is measured
in a subprocess of its own, on a fresh database, so that one row's rows and caches never help
another's. ``python -m bench.profiling`` shows where the time of the webhook view and of
``send_bulk`` goes.

The modules: ``plumbing`` (databases, the simulator process, timers, child processes),
``table`` (rows and the table), one module per group of rows (``webhooks``, ``applier``,
``sending``, ``pull``, ``memory``, ``reconcile``), ``settings``/``urls``/``wsgi`` (the Django
project every child and the web server run), ``child`` (what a subprocess runs).
"""
