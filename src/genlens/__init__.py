"""genlens: diagnose image-generation and image-editing models."""

__version__ = "0.1.0"
