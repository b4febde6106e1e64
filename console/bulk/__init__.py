"""Bulk actions of the students list (the bar above its rows): the registry of actions
(`actions.py`: who may take each, its label, the form fields it needs, the service it calls,
what it says when done and when nothing was done), its form (`forms.py`) and the view that
runs a posted action (`views.py`), to which the list's POST is handed. The cap on students per
action is config.bulk.MAX_BULK_IDS, the one the services and the API state."""
