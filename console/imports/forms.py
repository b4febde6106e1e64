"""Forms of the import page: they parse shapes only; students.imports checks the file."""
import re

from django import forms
from django.core.validators import RegexValidator

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{32}$"
TOKEN_RE = re.compile(TOKEN_PATTERN)
MSG_NO_FILE = "Choose a CSV or Excel (.xlsx) file to check."


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="File (CSV or Excel .xlsx)",
        error_messages={"required": MSG_NO_FILE, "empty": "The file is empty.", "invalid": MSG_NO_FILE},
    )


class ImportApplyForm(forms.Form):
    """Applies the file the same user checked a moment ago, kept on the server under `token`:
    the browser never holds the parsed rows. Whether the token names such a file, and what
    the page says when not, is the view's (console.imports.views._apply)."""

    token = forms.CharField(max_length=32, validators=[RegexValidator(TOKEN_PATTERN)])
