# Unambiguous next to the Vietnamese day/month order (Django's English short form is month/day).
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
