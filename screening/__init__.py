"""Random, unannounced drug screening for intensive outpatient programs."""

__version__ = "0.1.0"
