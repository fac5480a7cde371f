"""Send and receive SMS through the Zoom Connect REST API from Django."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
