"""Ids in paths (config.ids): an id segment is never one of the reserved words that literal
routes use beside it, so every address resolves to the same view whatever order the routes
are listed in; a malformed id still reaches its view, which answers a 400 naming it."""
import random
import re

import pytest
from django.urls import URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize
from drf_spectacular.generators import SchemaGenerator

from config.errors import MSG_NOT_FOUND
from config.ids import ID_SEGMENT, PATH_PARAMETER_PATTERNS, RESERVED_PATH_WORDS, is_valid_opaque_id


def _routes(resolver, prefix="^/"):
    """The full regex of every route below `resolver`, Django's admin left out."""
    for pattern in resolver.url_patterns:
        regex = prefix + pattern.pattern.regex.pattern.removeprefix("^")
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                yield from _routes(pattern, regex)
        else:
            yield regex


def _id_groups(regex):
    return re.findall(rf"\(\?P<(\w+)>{re.escape(ID_SEGMENT)}\)", regex)


def _token(index):
    return f"sample{index}"


def _is_token(value):
    return re.fullmatch(r"sample\d+", value) is not None


def _address(regex):
    """An address the route matches, its groups filled with sample tokens in order."""
    form, groups = normalize(regex)[0]
    return form % {group: _token(index) for index, group in enumerate(groups)}


ROUTES = list(_routes(get_resolver()))
ID_ROUTES = [regex for regex in ROUTES if _id_groups(regex)]


def _addresses():
    """Every route's sample address, and each id route's address with each id replaced by
    each reserved word."""
    addresses = [_address(regex) for regex in ROUTES]
    for regex in ID_ROUTES:
        sample = _address(regex)
        for index, _group in enumerate(_id_groups(regex)):
            addresses += [sample.replace(_token(index), word) for word in RESERVED_PATH_WORDS]
    return addresses


def _reordered(resolver, order):
    """A copy of the route tree with every list of routes put in `order` (the admin's own kept)."""
    patterns = [
        _reordered(p, order) if isinstance(p, URLResolver) and p.namespace != "admin" else p for p in resolver.url_patterns
    ]
    return URLResolver(resolver.pattern, order(patterns), resolver.default_kwargs, resolver.app_name, resolver.namespace)


def _resolved(resolver, address):
    try:
        match = resolver.resolve(address)
    except Resolver404:
        return None
    return match.view_name, match.kwargs


def test_the_reserved_words_are_the_literal_segments_where_a_sibling_route_has_an_id():
    # Each route's address read by every id route with its ids taking any segment, as they
    # did before words were reserved: what an id group would then take that is no sample id
    # is a literal segment beside it.
    literal_beside_an_id = set()
    for regex in ID_ROUTES:
        permissive = re.compile(regex.replace(ID_SEGMENT, "[^/]+"))
        for other in ROUTES:
            match = permissive.search(_address(other))
            if match and other != regex:
                literal_beside_an_id |= {value for value in match.groupdict().values() if not _is_token(value)}
    assert literal_beside_an_id == set(RESERVED_PATH_WORDS)


def test_every_path_parameter_is_an_id_segment():
    # An id taking any segment (str, [^/]+) would read a reserved word as an id again. The
    # avatar files' path under /media/ is a path, not an id.
    others = {
        (regex, group)
        for regex in ROUTES
        for group in re.compile(regex).groupindex
        if group not in _id_groups(regex)
    }
    assert others == {("^/media/(?P<path>.*)$", "path")}


@pytest.mark.parametrize("word", RESERVED_PATH_WORDS)
def test_no_reserved_word_resolves_as_an_id(word):
    resolver = get_resolver()
    for regex in ID_ROUTES:
        for index, _group in enumerate(_id_groups(regex)):
            address = _address(regex).replace(_token(index), word)
            resolved = _resolved(resolver, address)
            assert resolved is None or word not in resolved[1].values(), (address, resolved)


@pytest.mark.parametrize("order", ["reversed", "shuffled 1", "shuffled 2", "shuffled 3"])
def test_every_address_resolves_to_the_same_view_in_any_route_order(order):
    rng = random.Random(order)

    def reorder(patterns):
        if order == "reversed":
            return patterns[::-1]
        return rng.sample(patterns, len(patterns))

    listed, reordered = get_resolver(), _reordered(get_resolver(), reorder)
    addresses = _addresses()
    assert len(addresses) > 100
    differing = {a: (_resolved(listed, a), _resolved(reordered, a)) for a in addresses}
    assert {a: pair for a, pair in differing.items() if pair[0] != pair[1]} == {}


def test_the_literal_routes_beside_ids_resolve_to_their_own_views():
    resolver = get_resolver()
    assert _resolved(resolver, "/v1/students/bulk/archive")[0] == "students-bulk-archive"
    assert _resolved(resolver, "/v1/students/import")[0] == "students-import"
    assert _resolved(resolver, "/v1/console/students/export")[0] == "console-student-export"
    assert _resolved(resolver, "/students/new/")[0] == "console:student-new"
    assert _resolved(resolver, "/students/import/")[0] == "console:students_import"
    assert _resolved(resolver, "/v1/students/bulk") is None


def test_a_malformed_id_reaches_its_view_and_is_a_400_naming_it(viewer_client):
    assert _resolved(get_resolver(), "/v1/students/-bad id") == ("student", {"user_id": "-bad id"})
    response = viewer_client.get("/v1/students/-bad%20id")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["user_id"]


def test_a_reserved_word_where_an_id_goes_is_a_404_in_the_envelope(viewer_client):
    response = viewer_client.get("/v1/students/bulk")
    assert response.status_code == 404 and response.json()["message"] == MSG_NOT_FOUND


def test_the_schema_documents_every_path_id_without_the_reserved_words():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    parameters = [
        parameter
        for operations in spec["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]
    assert parameters
    for parameter in parameters:
        pattern = parameter["schema"]["pattern"]
        assert pattern == f"^{PATH_PARAMETER_PATTERNS[parameter['name']]}$"
        assert not any(re.search(pattern, word) for word in RESERVED_PATH_WORDS), parameter
        assert re.search(pattern, "MBA1"), parameter


@pytest.mark.parametrize("word", RESERVED_PATH_WORDS)
def test_no_record_may_take_a_reserved_word_as_its_id(admin_client, word):
    response = admin_client.post(
        "/v1/students",
        {"first_name": "Ada", "last_name": "Obi", "email": "ada@uni.example", "programme_codes": [], "user_id": word},
        format="json",
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["user_id"]
    assert is_valid_opaque_id(word.upper())  # the words only, as written
