"""The staff face: views, forms, URLs and access rules; no models."""
