"""One module per capability; each takes a session and plain values, returns plain data."""
