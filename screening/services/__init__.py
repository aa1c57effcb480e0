"""The jobs users name, one package each; docs/architecture.md lists them bottom to top,
and a package imports only from the ones below it (tests/test_architecture.py)."""
