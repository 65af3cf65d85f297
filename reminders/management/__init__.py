"""Management commands of the reminders app."""
