"""Security controls that stand on their own: headers, log-off, two-factor, redacted logs."""
