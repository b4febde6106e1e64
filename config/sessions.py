"""Django's database sessions, with the read every signed-in request makes compiled once
(config.compiled): building and compiling the ORM's query cost more than PostgreSQL spends on it.
Everything else (saving, expiry, the cookie) is Django's own."""
from django.contrib.sessions.backends import db
from django.db.models import DateTimeField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from config.compiled import Slot, compiled_once


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """The unexpired session with this key, as Django's reads it; None (and no key) otherwise."""
        found = _live_session(self.model)(session_key=self.session_key, now=timezone.now())
        if found:
            return found[0]
        self._session_key = None
        return None


@compiled_once(maxsize=1)
def _live_session(model):
    # The time as a parameter cast in SQL: a Slot stands in as text, which the date field's own
    # conversion would refuse.
    now = Cast(Value(Slot("now")), output_field=DateTimeField())
    return model.objects.filter(session_key=Slot("session_key"), expire_date__gt=now)[:1]
