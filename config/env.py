"""A small, strict reader for environment variables.

Bad values fail at start-up with a message that names the variable, instead of
surfacing later as a confusing runtime error.
"""
import os


class ConfigError(RuntimeError):
    pass


def env_str(name, default=None):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def env_bool(name, default=False):
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {value!r}")


def env_int(name, default, *, minimum=None, maximum=None):
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {number}")
    return number


def env_list(name, default=()):
    value = env_str(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name, choices, default):
    value = env_str(name)
    if value is None:
        return default
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def env_token(name, *, min_length):
    """A secret a client must send back (a Bearer token): unset is None; otherwise at least
    `min_length` visible ASCII characters, no spaces, so it fits an Authorization header as is."""
    value = env_str(name)
    if value is None:
        return None
    if len(value) < min_length or not all("!" <= char <= "~" for char in value):
        raise ConfigError(f"{name} must be at least {min_length} visible ASCII characters without spaces")
    return value
