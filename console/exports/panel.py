"""The "Export in the background" panel every list of students offers (the students list has
its own, beside its downloads): which kinds of file it starts, with which of the list's
filters, for staff who may export."""
from accounts.permissions import USER_MANAGEMENT_EXPORT, has_permission
from console.list_files.kinds import FILE_KINDS


def background_export_panel(user, fields, *, kinds=None):
    """The panel's context, or None for staff who may not export. `fields` are the (name,
    value) filters the export is made with; `kinds` the names of the kinds of file it offers
    (all of them by default)."""
    if not has_permission(user, USER_MANAGEMENT_EXPORT):
        return None
    offered = [FILE_KINDS[name] for name in kinds] if kinds else list(FILE_KINDS.values())
    return {
        "background_kinds": [(kind.name, kind.short_label) for kind in offered],
        "background_fields": list(fields),
    }
