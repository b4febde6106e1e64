"""The Webhooks page's forms: shapes only; console.webhooks.services owns the rules (https,
no private address, known event types, a replay's range)."""
import unicodedata

from django import forms

from accounts.events.types import EVENT_TYPES
from config.text import validate_one_line_text
from console.webhooks.serializers import DESCRIPTION_MAX_LENGTH
from console.webhooks.services import URL_MAX_LENGTH, URL_VALIDATOR

MSG_WEBHOOK_URL_REQUIRED = "Give the address events are sent to."
DATETIME_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


def event_type_choices():
    return [(name, f"{name}: {t.description}") for name, t in sorted(EVENT_TYPES.items())]


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="Address", max_length=URL_MAX_LENGTH, validators=[validate_one_line_text, URL_VALIDATOR],
        error_messages={"required": MSG_WEBHOOK_URL_REQUIRED},
    )
    description = forms.CharField(label="Description", max_length=DESCRIPTION_MAX_LENGTH, required=False,
                                  validators=[validate_one_line_text])
    event_types = forms.MultipleChoiceField(choices=event_type_choices, required=False)

    def clean_description(self):
        return unicodedata.normalize("NFC", self.cleaned_data["description"])


class ReplayRangeForm(forms.Form):
    """Times in the tenant's time zone (the page activates it)."""

    since = forms.DateTimeField(input_formats=[DATETIME_INPUT])
    until = forms.DateTimeField(input_formats=[DATETIME_INPUT], required=False)
