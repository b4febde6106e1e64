"""Reads of applied imports (students.imports.models)."""
from students.imports.models import StudentImport


def student_import_get(*, import_id):
    """The applied import with this id and the staff member who applied it, or None. One query."""
    if not import_id:
        return None
    return StudentImport.objects.select_related("actor").filter(pk=import_id).first()
