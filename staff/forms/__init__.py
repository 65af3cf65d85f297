"""Forms behind the staff pages."""
