"""The text forms of a provider's settings that people type: role rules one per line as
`value = role` (the console's Sign-in page, the identity_provider command), and break-glass
email addresses one per line. Shapes only: accounts.identity.services checks the rules."""
MSG_ROLE_RULE_LINE = "Line {line}: write each rule as value = role (for example: ops-staff = operator)."


def role_rules_from_lines(text):
    """([{"value", "role"}], [error]) from `value = role` lines (blank lines skipped). The value
    is everything before the last "=", so it may hold "=" itself (an LDAP DN: cn=staff,ou=…)."""
    rules, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value, equals, role = line.rpartition("=")
        if not equals or not value.strip() or not role.strip():
            errors.append(MSG_ROLE_RULE_LINE.format(line=number))
            continue
        rules.append({"value": value.strip(), "role": role.strip().lower()})
    return rules, errors


def role_rules_as_lines(rules):
    return "\n".join(f"{rule['value']} = {rule['role']}" for rule in rules)


def lines_of(text):
    """The non-blank lines of `text`, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]
