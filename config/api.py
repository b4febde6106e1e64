"""The success envelope (SPEC §6) and small helpers the API views share."""
import math

from rest_framework.response import Response

from config.errors import AppError


def ok(data, status=200, message=None, headers=None):
    return Response({"success": True, "data": data, "message": message}, status=status, headers=headers)


def paged(data, *, total, page, page_size):
    """A console-style list: data plus total, page, page_size, total_pages."""
    return Response(
        {
            "success": True,
            "data": data,
            "total": total,
            "page": page,
            "page_size": page_size,
            "total_pages": math.ceil(total / page_size) if page_size else 0,
            "message": None,
        }
    )


def page_of(queryset, *, page, per_page):
    """One page of a page-numbered list: (rows, paging), where paging holds the keywords
    `paged` takes. Queries: the count, the page."""
    total = queryset.count()
    rows = list(queryset[(page - 1) * per_page : page * per_page])
    return rows, {"total": total, "page": page, "page_size": per_page}


def validated(serializer_class, data, **kwargs):
    """Validate `data` (a QueryDict or dict) and return validated_data, or raise a 400 naming fields."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        from config.errors import _field_errors

        raise AppError.validation(_field_errors(serializer.errors))
    return serializer.validated_data
