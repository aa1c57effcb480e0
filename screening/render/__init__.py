"""Output: rich tables for people, JSON and CSV for programs. Data to stdout only."""
