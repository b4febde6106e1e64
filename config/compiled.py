"""Querysets compiled once, for the few reads every request makes.

Building a queryset and compiling it to SQL costs more Python than PostgreSQL spends running it
on the busiest paths: the Bearer token's lookup and the first page of the students list (about
1 ms of a list request that runs 1.5 ms of SQL); a student, their attempts and their case
studies (a third of the detail's time). Their shape never changes between requests, only a
value or two, so `CompiledQuery` asks the ORM once for the SQL, its parameters and what the ORM
needs to read the rows back (its select list, the related models, the annotations), then each
call binds its values into that SQL and builds the same model instances the queryset would have
(`select_related` objects and annotations included), or the same `values_list()` tuples,
through the ORM's own compiler (`execute_sql`, its converters, the connection's cursor wrappers),
on the database the router picks for a read of the model at the time of the call, as a prepared
statement there (`prepared_statements`: parsed and planned once per connection, in session mode).

A value that changes is given as a `Slot` when the queryset is built; it must reach the SQL as a
parameter, unchanged (an exact lookup: `key_hash=Slot("key")`), which is checked when the query is
compiled. Everything else in the queryset is fixed in the compiled SQL, so a cache of compiled
queries is keyed by whatever chose its shape (`compiled_once`).

No maintained library does this for today's Django: django-prepared-queries, which cached the SQL
and substituted parameters the same way, was last released for Django 1.x.
"""
import functools
import weakref
from contextlib import nullcontext
from itertools import chain

from django.db import router
from django.db.models import BooleanField, Func
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql.constants import MULTI


def prepared_statements(connection):
    """A block whose statements on `connection` are prepared, each parsed and planned once per
    database connection, then only executed with its values (config.postgresql's
    PreparingCursor; nothing changes behind a transaction pooler, or on another backend)."""
    return getattr(connection, "prepared_statements", nullcontext)()


class InArray(Func):
    """`<value> = ANY(<array>)`, true when the value is among the array's: a list bound as one
    parameter (a Slot), where `__in` would compile one placeholder per item, or a subquery's
    array read once."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = BooleanField()


class Slot(str):
    """A value bound at each call of a CompiledQuery, named; it stands in the queryset as a
    string no real value is (a NUL byte cannot reach PostgreSQL as text)."""

    name: str

    def __new__(cls, name):
        slot = super().__new__(cls, f"\x00slot:{name}\x00")
        slot.name = name
        return slot


class CompiledQuery:
    """`queryset` compiled once; calling it with the slots' values (by name) returns the list of
    model instances (or, for a `values_list()` queryset, of tuples) the queryset would return
    with those values in place of the slots."""

    def __init__(self, queryset):
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise TypeError("Only a queryset of model instances or of values_list() tuples is compiled.")
        self.tuples = queryset._iterable_class is ValuesListIterable
        self.model = queryset.model
        self.query = queryset.query
        compiler = self.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        self.sql, self.params = sql, tuple(params)
        self.slots: dict[str, int] = {}
        for index, param in enumerate(self.params):
            if isinstance(param, str) and param.startswith("\x00slot:"):
                name = param[len("\x00slot:") : -1]
                if name in self.slots:
                    raise ValueError(f"Slot {name!r} reaches the SQL more than once.")
                self.slots[name] = index
        self.state = {
            "select": compiler.select,
            "klass_info": compiler.klass_info,
            "annotation_col_map": compiler.annotation_col_map,
            "col_count": compiler.col_count,
            "has_extra_select": compiler.has_extra_select,
        }
        if not self.tuples:
            model_fields = compiler.klass_info["select_fields"]
            self.model_columns = (model_fields[0], model_fields[-1] + 1)
            self.init_list = [column[0].target.attname for column in compiler.select[slice(*self.model_columns)]]
        # What reads the rows back, worked out once for each connection (a thread's, or a
        # replica's): its converters, and for model instances the related models' populators.
        self._readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _reader(self, compiler, db):
        reader = self._readers.get(compiler.connection)
        if reader is None:
            select = self.state["select"]
            converters = compiler.get_converters([column[0] for column in select[: self.state["col_count"]]])
            populators = None if self.tuples else get_related_populators(self.state["klass_info"], select, db)
            reader = self._readers[compiler.connection] = (converters, populators)
        return reader

    def __call__(self, **values):
        if values.keys() != self.slots.keys():
            raise TypeError(f"Expected the values of {sorted(self.slots)}, got {sorted(values)}.")
        params = list(self.params)
        for name, index in self.slots.items():
            params[index] = values[name]
        db = router.db_for_read(self.model)
        compiler = self.query.get_compiler(using=db)
        for name, value in self.state.items():
            setattr(compiler, name, value)
        compiler.as_sql = lambda *args, **kwargs: (self.sql, params)
        with prepared_statements(compiler.connection):
            results = compiler.execute_sql(MULTI)
        # As compiler.results_iter reads them, with the converters it would work out each time.
        converters, populators = self._reader(compiler, db)
        read = chain.from_iterable(results)
        if converters:
            read = compiler.apply_converters(read, converters)
        if self.tuples:
            return [tuple(row) for row in read]
        model, init_list, (start, end) = self.state["klass_info"]["model"], self.init_list, self.model_columns
        annotations = self.state["annotation_col_map"].items()
        rows = []
        for row in read:
            obj = model.from_db(db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotations:
                setattr(obj, name, row[position])
            rows.append(obj)
        return rows


def compiled_once(maxsize=256):
    """Decorate a function of hashable arguments that returns a queryset: it then returns that
    queryset's CompiledQuery, made once per distinct arguments (the `maxsize` most recently
    used kept)."""

    def decorate(build):
        @functools.lru_cache(maxsize=maxsize)
        @functools.wraps(build)
        def compiled(*args):
            return CompiledQuery(build(*args))

        return compiled

    return decorate
