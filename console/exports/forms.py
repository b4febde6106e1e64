"""The console's "export in the background" form: what to export and in which format; the
filters come with it as hidden fields, checked by the service like the API's."""
from django import forms

from console.list_files.kinds import kind_choices

FORMATS = (("csv", "CSV"), ("xlsx", "XLSX"))


class BackgroundExportForm(forms.Form):
    kind = forms.ChoiceField(choices=kind_choices)
    format = forms.ChoiceField(choices=FORMATS)
