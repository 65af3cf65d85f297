"""Spanish, as a clinic in the US writes it: "mar 1 dic", "1 dic 2026", "6:00 p.m.".

The 12-hour clock with "a.m."/"p.m." (Django's Spanish names for them), which is what Spanish
speakers in the US read on their phones and in reminders; day before month. Date inputs are
type=date and submit ISO dates; typed dates are day first.
"""
DATE_FORMAT = r"j b Y"                    # 1 dic 2026
TIME_FORMAT = "g:i a"                     # 6:00 p.m.
DATETIME_FORMAT = "j b Y, g:i a"          # 1 dic 2026, 6:00 p.m.
SHORT_DATE_FORMAT = "d/m/Y"               # 01/12/2026
SHORT_DATETIME_FORMAT = "d/m/Y g:i a"
MONTH_DAY_FORMAT = "j b"                  # 1 dic
YEAR_MONTH_FORMAT = r"F \d\e Y"           # diciembre de 2026
# Ours (iop_clinic/formatting.py):
DAY_FORMAT = "D j b"                      # mar 1 dic
LONG_DAY_FORMAT = r"l j \d\e F \d\e Y"    # martes 1 de diciembre de 2026
WHEN_FORMAT = "D j b, g:i a"              # mar 1 dic, 6:00 p.m.
# Messages (reminders/messages.py): the short day of an SMS and the long one of an email.
MESSAGE_DAY_FORMAT = "D j b"              # mar 1 dic
MESSAGE_LONG_DAY_FORMAT = r"l j \d\e F"   # martes 1 de diciembre
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p"]
FIRST_DAY_OF_WEEK = 1
DECIMAL_SEPARATOR = "."                   # as in the US: 2.5 horas
THOUSAND_SEPARATOR = ","
