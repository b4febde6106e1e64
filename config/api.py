"""The success envelope (SPEC §6) and small helpers the API views share."""
import math

from rest_framework.response import Response

from config.errors import AppError, field_errors


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


def skip_limit_paging(*, total, skip, limit):
    """The keywords `paged` takes for an offset list: page = skip // limit + 1 (SPEC §7.1)."""
    return {"total": total, "page": skip // limit + 1, "page_size": limit}


def skip_limit_page(queryset, *, skip, limit):
    """One page of an offset list: (rows, paging). Queries: the count, then the page only when
    it lies inside the total."""
    total = queryset.count()
    rows = list(queryset[skip : skip + limit]) if skip < total else []
    return rows, skip_limit_paging(total=total, skip=skip, limit=limit)


def validated(serializer_class, data, **kwargs):
    """Validate `data` (a QueryDict or dict) and return validated_data, or raise a 400 naming fields."""
    return validated_all(data, serializer_class, **kwargs)


def validated_all(data, *serializer_classes, check=None, **kwargs):
    """Validate `data` against several serializers (and `check(data)`, which may raise an
    AppError naming fields), naming every bad field in one 400. Returns the merged
    validated data, or (that, what `check` returned) when there is a check."""
    errors, values, checked = {}, {}, None
    for serializer_class in serializer_classes:
        serializer = serializer_class(data=data, **kwargs)
        if serializer.is_valid():
            values.update(serializer.validated_data)
        else:
            errors.update(field_errors(serializer.errors))
    if check is not None:
        try:
            checked = check(data)
        except AppError as exc:
            errors.update(exc.errors or {})
    if errors:
        raise AppError.validation(errors)
    return values if check is None else (values, checked)
