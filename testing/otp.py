"""Codes of a TOTP device, as an authenticator app would show them (django-otp's own HOTP)."""
import time

from django_otp.oath import hotp


def code_at(device, step_number):
    """The code of the device's key for one time step."""
    return f"{hotp(device.bin_key, step_number, digits=device.digits):0{device.digits}d}"


def fresh_code(device):
    """A code the device accepts now: the current step's, or the next one after the last used
    (django-otp accepts each step once, and one step ahead of the clock)."""
    device.refresh_from_db()
    current = int((time.time() - device.t0) // device.step) + device.drift
    return code_at(device, max(current, device.last_t + 1))


def code_for_key(key, step_number, digits=6):
    """The code of a raw key (bytes) for one time step: what a test reads off the set-up page."""
    return f"{hotp(key, step_number, digits=digits):0{digits}d}"
