"""The plugin system: what a module declares (`declarations`), the hooks it may implement
(`hookspecs`), the registry that discovers and loads modules (`registry`), which modules each
province has switched on (`activation`), and the pytest fixtures for module authors (`testing`).

Vendors import none of these directly: `eiso.core.sdk`, `eiso.core.hookspecs` and
`eiso.core.testing` are their doors.
"""
