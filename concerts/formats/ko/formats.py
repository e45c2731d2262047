# Korean date formats as Korean sites write them (Django's own put 오전/오후 after the time).
DATE_FORMAT = "Y년 n월 j일"
TIME_FORMAT = "A g:i"
DATETIME_FORMAT = "Y년 n월 j일 A g:i"
MONTH_DAY_FORMAT = "n월 j일"
SHORT_DATE_FORMAT = "Y.m.d."
SHORT_DATETIME_FORMAT = "Y.m.d. H:i"
