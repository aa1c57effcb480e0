"""Engine, sessions, models and migrations."""
