"""The students list page's query string: filters passed to the shared selector, paging by
page number and page size, and the links (pages, export) that carry the current filters.
The filters are the list's FilterSet's (students.listing.filters.StudentFileFilter): their
names, choices, lengths and labels come from it."""
import datetime as dt
import functools
import math

from django.http import QueryDict

from config.query import DATE_ONLY_RE
from config.serializers import PAGE_MAX
from students.listing.filters import DEFAULT_SORT_BY, DEFAULT_SORT_ORDER, StudentFileFilter

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25


ARCHIVED = "archived"  # a status choice of the console only: the JSON list never lists them
SORT_PARAMETERS = ("sort_by", "sort_order")


def _choices(name):
    return tuple(value for value, _ in StudentFileFilter.base_filters[name].extra["choices"])


class ListRequest:
    SELECTOR_FIELDS = tuple(StudentFileFilter.base_filters)
    FILTER_FIELDS = tuple(name for name in SELECTOR_FIELDS if name not in SORT_PARAMETERS)
    SORT_FIELDS, SORT_ORDERS = _choices("sort_by"), _choices("sort_order")
    PAGE_PARAMETER = "page"  # another for a second list on the same page, paged apart
    DATE_FIELDS = ("start_date", "end_date")

    def __init__(self, query, tzinfo):
        self.query = query
        self.tzinfo = tzinfo
        self.page = _positive_int(query.get(self.PAGE_PARAMETER), 1)
        size = _positive_int(query.get("page_size"), DEFAULT_PAGE_SIZE)
        self.page_size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE

    @classmethod
    def from_query(cls, query, tzinfo):
        return cls(query, tzinfo)

    @functools.cached_property
    def values(self):
        """The raw filter values, for the filter bar's inputs (read once: the page reads them
        about fifteen times, and the query never changes)."""
        return {name: self.query.get(name, "") for name in self.SELECTOR_FIELDS}

    @property
    def archived(self):
        """The console's extra status choice: archived students instead of the list's own."""
        return self.query.get("status", "").strip().lower() == ARCHIVED

    @property
    def has_filters(self):
        return any(self.query.get(name, "").strip() for name in self.FILTER_FIELDS)

    @property
    def active_filters(self):
        """How many filters behind the filter bar's disclosure are set, for its summary: the
        search stays outside it, an import's students are said above the list (with their own
        Clear), and the two dates of "Last seen" are one filter."""
        return len({
            "last_seen" if name in self.DATE_FIELDS else name
            for name in self.FILTER_FIELDS
            if name not in ("search", "imported") and self.query.get(name, "").strip()
        })

    @property
    def selector_params(self):
        """What the shared selector gets. A date picked in the filter bar means that day in the
        tenant's time zone (the times on screen are in that zone too), so it is sent as the
        exact start or end instant of the local day; anything else goes through unchanged and
        the selector validates it."""
        params = QueryDict(mutable=True)
        for name in self.SELECTOR_FIELDS:
            value = self.query.get(name, "").strip()
            if not value or (name == "status" and self.archived):
                continue
            if name in self.DATE_FIELDS and DATE_ONLY_RE.match(value):
                value = self._local_day_bound(value, end=(name == "end_date"))
            params[name] = value
        return params

    def _local_day_bound(self, text, *, end):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return text  # e.g. 2026-02-30: the selector names the field
        moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=self.tzinfo)
        return moment.isoformat()

    @property
    def sort(self):
        """(sort_by, sort_order) as shown in the headers: the defaults when absent or unknown."""
        sort_by = self.query.get("sort_by", "").strip().lower()
        sort_order = self.query.get("sort_order", "").strip().lower()
        return (
            sort_by if sort_by in self.SORT_FIELDS else DEFAULT_SORT_BY,
            sort_order if sort_order in self.SORT_ORDERS else DEFAULT_SORT_ORDER,
        )

    @property
    def sort_caption(self):
        sort_by, sort_order = self.sort
        label = sort_by.replace("_", " ")
        return f"{label}, {'ascending' if sort_order == 'asc' else 'descending'}"

    @property
    def skip(self):
        return (self.page - 1) * self.page_size

    def clamp(self, total):
        """A page past the end shows the last page instead of an empty table."""
        last = max(1, math.ceil(total / self.page_size))
        self.page = min(self.page, last)

    def export_query(self):
        params = self.selector_params
        return ("&" + params.urlencode()) if params else ""

    def href(self, **changes):
        params = self.query.copy()
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        encoded = params.urlencode()
        return "?" + encoded if encoded else "?"

    def page_links(self, total):
        """Page numbers around the current one, with None for a gap: 1 … 4 5 [6] 7 8 … 14."""
        last = max(1, math.ceil(total / self.page_size))
        wanted = {1, last} | set(range(max(1, self.page - 2), min(last, self.page + 2) + 1))
        links, previous = [], 0
        for number in sorted(wanted):
            if number - previous > 1:
                links.append(None)
            links.append({"number": number, "current": number == self.page, "href": self._page_href(number)})
            previous = number
        return {
            "items": links,
            "previous": self._page_href(self.page - 1) if self.page > 1 else None,
            "next": self._page_href(self.page + 1) if self.page < last else None,
        }

    def _page_href(self, number):
        return self.href(**{self.PAGE_PARAMETER: number})


def _positive_int(value, default):
    """A page number or size from the query string: ASCII digits only, at most PAGE_MAX (a
    page past the end shows the last one); anything else is the default."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return default
    number = int(text)
    return min(number, PAGE_MAX) if number >= 1 else default


@functools.cache
def filter_controls():
    """{name: {"label", "max_length", "choices"}} of the list's filters, for the filter bar's
    controls: what the FilterSet declares, so the page offers exactly what the list accepts.
    Read once per process (the declaration does not change); callers only read it."""
    controls = {}
    for name, filter_ in StudentFileFilter.base_filters.items():
        field = filter_.field
        controls[name] = {
            "label": filter_.label,
            "max_length": getattr(field, "max_length", None),
            "choices": list(filter_.extra.get("choices", ())),
        }
    return controls
