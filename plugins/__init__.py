"""The bundled sector modules, each registered through the `eiso.plugins` entry point."""
