"""The `cms` command (`main`): thin click commands over the library, and gunicorn for `cms serve`.

The top layer with `cms.web`: it may import anything in `cms`; nothing in `cms` imports it."""

from cms.cli.main import main

__all__ = ["main"]
