"""The Sign-in page's forms: an identity provider (the fields of its kind only), the sign-in
policy and a SCIM token's description. Shapes only: role rules and break-glass addresses are
read one per line (accounts.identity.formats); accounts.identity.services owns the rules."""
import unicodedata

from django import forms

from accounts.identity.formats import lines_of, role_rules_from_lines
from accounts.identity.models import IdentityProvider, ScimToken
from accounts.identity.services import KIND_FIELDS
from config.text import validate_free_text, validate_one_line_text

_LENGTH = {field.name: field.max_length for field in IdentityProvider._meta.fields if field.max_length}


def _text(name, label, **kwargs):
    return forms.CharField(label=label, max_length=_LENGTH.get(name), validators=[validate_one_line_text], **kwargs)


class ProviderForm(forms.Form):
    """A provider of `kind`: the common fields and that kind's. `creating`: the new provider's
    form (its client secret required, an Enabled box); editing, a blank secret keeps the one
    kept, and Enable/Disable are buttons of their own."""

    name = _text("name", "Name on the sign-in button")
    slug = _text("slug", "Slug (in its addresses)")
    enabled = forms.BooleanField(label="Enabled: offer it on the sign-in page", required=False, initial=True)
    # OpenID Connect
    issuer = _text("issuer", "Issuer URL")
    client_id = _text("client_id", "Client id")
    client_secret = forms.CharField(label="Client secret", max_length=_LENGTH["client_secret"], strip=True,
                                    validators=[validate_one_line_text])
    scopes = _text("scopes", "Scopes", required=False, initial="openid email profile")
    # SAML 2.0
    idp_entity_id = _text("idp_entity_id", "IdP entity id")
    idp_sso_url = _text("idp_sso_url", "IdP single sign-on URL")
    idp_certificate = forms.CharField(label="IdP signing certificate (PEM)", widget=forms.Textarea,
                                      validators=[validate_free_text])
    # Both
    email_claim = _text("email_claim", "Email claim", initial="email")
    name_claim = _text("name_claim", "Name claim", required=False, initial="name")
    role_claim = _text("role_claim", "Role claim", initial="groups")
    role_rules = forms.CharField(label="Role rules", widget=forms.Textarea, required=False,
                                 validators=[validate_free_text])

    def __init__(self, *args, kind, creating, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        for other, names in KIND_FIELDS.items():
            if other != kind:
                for name in names:
                    del self.fields[name]
        if not creating:
            del self.fields["enabled"]
            if "client_secret" in self.fields:
                self.fields["client_secret"].required = False

    def clean(self):
        data = super().clean()
        for name, value in data.items():
            if isinstance(value, str):
                data[name] = unicodedata.normalize("NFC", value)
        return data

    def clean_role_rules(self):
        rules, errors = role_rules_from_lines(unicodedata.normalize("NFC", self.cleaned_data["role_rules"]))
        if errors:
            raise forms.ValidationError(errors)
        return rules

    def service_fields(self):
        """The service's keyword arguments: a blank secret (editing) is left out, so it stays."""
        fields = dict(self.cleaned_data)
        if not fields.get("client_secret"):
            fields.pop("client_secret", None)
        return fields


class SignInPolicyForm(forms.Form):
    sso_only = forms.BooleanField(label="SSO only", required=False)
    break_glass_emails = forms.CharField(label="Break-glass accounts", widget=forms.Textarea, required=False,
                                         validators=[validate_free_text])
    require_two_factor = forms.BooleanField(label="Require a second factor", required=False)

    def clean_break_glass_emails(self):
        return lines_of(unicodedata.normalize("NFC", self.cleaned_data["break_glass_emails"]))


class ScimTokenForm(forms.Form):
    description = forms.CharField(label="What it is for", max_length=ScimToken._meta.get_field("description").max_length,
                                  required=False, validators=[validate_one_line_text])
