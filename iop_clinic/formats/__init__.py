"""Our date and time formats, one set per language (Django's FORMAT_MODULE_PATH)."""
