"""Reports, charts' figures and exports, read from the clinic's records (no writes to them)."""
