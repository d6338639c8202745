"""Date formats of the platform's languages where Django's own do not suit tables (FORMAT_MODULE_PATH): a list
shows "25/11/2026 10:39", not "10:39 Ngày 25 tháng 11 năm 2026" (Django's Vietnamese DATETIME_FORMAT, which
detail pages keep)."""
