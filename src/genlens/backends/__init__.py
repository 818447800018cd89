"""Generation backends, one module each; plugins register through the ``genlens.backends`` entry points."""
