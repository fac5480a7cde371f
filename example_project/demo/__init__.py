"""The demo app: the ``demo`` management command and the start page it points you to."""
