"""The checker behind tests/test_architecture.py: the shape of `screening/`, read from its
source with `ast` (nothing of it is imported)."""
