"""A vendor's sample eiso module (see docs/plugins.md)."""
