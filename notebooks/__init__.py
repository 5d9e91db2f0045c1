"""Not a library: this file only makes pytest import notebooks/conftest.py as
`notebooks.conftest`, so that it does not shadow tests/conftest.py (both would
otherwise be the top-level module `conftest`)."""
