"""The web room: the pages people use (docs/web.md)."""
