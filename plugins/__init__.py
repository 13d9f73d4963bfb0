"""Plugins bundled with scaptools, registered through the public entry-point group."""
