"""The kinds of file of the list, one entry each: the synchronous downloads
(console.list_files.apis) and the background export (console.exports) read them from here
alone, so a new kind is a module of its own (its parameters, rows and writers) and an entry.
"""
from dataclasses import dataclass
from typing import Callable

from django.utils import timezone

from accounts.permissions import USER_MANAGEMENT_EXPORT
from console.list_files import gradebook, student_list


@dataclass
class FileKind:
    name: str  # `kind` of a background export (ExportJob.kind)
    label: str  # what a background export is called on its pages
    short_label: str  # its buttons on the students list
    file_prefix: str  # {file_prefix}_{tenant_slug}_{YYYY-MM-DD}.{csv|xlsx}
    permission: str  # to download it, or to run it in the background
    audit_action: str  # a download's audit event (a background export has its own)
    audit_target: str
    check: Callable  # params (a QueryDict) -> (options, filterset, case studies); 400 naming each bad one
    # (file_request, *, limit, using, copy) -> the rows; copy=False: the connection stays free
    # between fetches (a server-side cursor), as a background export's progress needs
    rows: Callable
    csv_blocks: Callable  # (file_request, rows) -> blocks of bytes
    write_xlsx: Callable  # (file_request, rows, target): the workbook into a binary file
    audit_detail: Callable  # (file_request, params) -> the download's audit detail

    def read(self, params):
        """The FileRequest of `params`; AppError (400) naming each bad parameter."""
        options, filterset, case_studies = self.check(params)
        return FileRequest(self, options, filterset, case_studies)

    def file_name(self, tenant, file_format, *, now=None):
        """{file_prefix}_{tenant_slug}_{YYYY-MM-DD}.{csv|xlsx}, dated in the tenant's time zone."""
        today = (now or timezone.now()).astimezone(tenant.tzinfo).date()
        return f"{self.file_prefix}_{tenant.slug}_{today.isoformat()}.{file_format}"


@dataclass
class FileRequest:
    """A file of the list, as asked for: its kind, checked options (`format` and the kind's
    own), the list's filters and sort, and the case studies it reports on (the gradebook's)."""

    kind: FileKind
    options: dict
    filterset: object
    case_studies: list

    @property
    def file_format(self):
        return self.options["format"]


FILE_KINDS = {kind.name: kind for kind in (
    FileKind(
        name="list",
        label="Student list",
        short_label="List",
        file_prefix="students",
        permission=USER_MANAGEMENT_EXPORT,
        audit_action="students.export",
        audit_target="students",
        check=student_list.check,
        rows=student_list.rows,
        csv_blocks=student_list.csv_blocks,
        write_xlsx=student_list.write_xlsx,
        audit_detail=student_list.audit_detail,
    ),
    FileKind(
        name="gradebook",
        label="Gradebook",
        short_label="Gradebook",
        file_prefix="gradebook",
        permission=USER_MANAGEMENT_EXPORT,
        audit_action="reports.gradebook",
        audit_target="gradebook",
        check=gradebook.check,
        rows=gradebook.rows,
        csv_blocks=gradebook.csv_blocks,
        write_xlsx=gradebook.write_xlsx,
        audit_detail=gradebook.audit_detail,
    ),
)}
DEFAULT_KIND = "list"


def kind_choices():
    """(name, label) of every kind, for choice fields."""
    return [(kind.name, kind.label) for kind in FILE_KINDS.values()]
