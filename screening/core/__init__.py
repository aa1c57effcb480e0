"""Pure functions: no I/O, no clock. Callers pass "now" and "today"."""
