"""English, as a US clinic writes it: "Mon, Nov 30", "Nov 30, 2026", "6:00 PM".

The same order as the browser's own date inputs in US English (mm/dd/yyyy) and as the reminder
messages. Templates use Django's named formats (|date, |time) or the filters in
iop_clinic/formatting.py (|day, |long_day, |when), never a format string of their own.
"""
DATE_FORMAT = "M j, Y"                  # Nov 30, 2026
TIME_FORMAT = "g:i A"                   # 6:00 PM
DATETIME_FORMAT = "M j, Y, g:i A"       # Nov 30, 2026, 6:00 PM
SHORT_DATE_FORMAT = "m/d/Y"             # 11/30/2026, as a date input shows it
SHORT_DATETIME_FORMAT = "m/d/Y g:i A"
MONTH_DAY_FORMAT = "M j"                # Nov 30
YEAR_MONTH_FORMAT = "F Y"               # November 2026
# Ours (iop_clinic/formatting.py):
DAY_FORMAT = "D, M j"                   # Mon, Nov 30
LONG_DAY_FORMAT = "l, F j, Y"           # Monday, November 30, 2026
WHEN_FORMAT = "D, M j, g:i A"           # Mon, Nov 30, 6:00 PM
# Date inputs are type=date, which submit ISO dates; people typing keep the US order.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"]
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p"]
FIRST_DAY_OF_WEEK = 1  # clinics plan Monday to Sunday
# Messages (reminders/messages.py): the short day of an SMS and the long one of an email.
MESSAGE_DAY_FORMAT = "D M j"            # Tue Dec 1
MESSAGE_LONG_DAY_FORMAT = "l, F j"      # Tuesday, December 1
