from .reminders import admin as reminders_admin  # noqa: F401  (registers Reminder admin)
