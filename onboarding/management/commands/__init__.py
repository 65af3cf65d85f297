"""`import_census`: the census import for IT people, sharing the staff page's service."""
