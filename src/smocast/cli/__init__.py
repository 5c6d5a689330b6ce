"""The ``smocast`` command line."""
