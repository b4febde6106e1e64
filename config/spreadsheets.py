"""CSV and XLSX as the console writes them (files of the list) and reads them (the student
import): the two formats, their media types, and the first characters that make a
spreadsheet run a cell as a formula."""

CSV = "csv"
XLSX = "xlsx"
MEDIA_TYPES = {
    CSV: "text/csv",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Spreadsheet apps run cells starting with these as formulas (CSV/formula injection): a file
# written neutralises them, an import refuses them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NOTE_AUTHOR = "Student Operations Console"  # of the notes on an XLSX file's header cells


def content_type(file_format):
    """The Content-Type of a download: CSV says its encoding (UTF-8)."""
    return MEDIA_TYPES[file_format] + ("; charset=utf-8" if file_format == CSV else "")
