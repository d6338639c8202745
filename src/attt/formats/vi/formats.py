# Numeric dates as Vietnamese offices write them: day/month/year.
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
