"""Student import (CSV or XLSX of student records): reading the file, checking every row as
the records API would, and applying the whole file in one transaction."""
