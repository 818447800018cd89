"""Suite data: vendored small data with its licence, and download manifests (url, sha256) for the rest."""
