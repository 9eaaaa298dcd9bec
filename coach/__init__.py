"""coach: a camera-based exercise-form coach."""

__version__ = "0.1.0"
