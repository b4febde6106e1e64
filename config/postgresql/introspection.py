"""django-tenants' introspection, listing a schema's tables without scanning every tenant's.

Django lists tables with `pg_table_is_visible()` over every relation in the database, which
django-tenants runs with the search path set to the one schema: at 1,000 tenants that is a
test of 300,000 relations each time a migration asks whether `django_migrations` exists (once
per schema migrated, and more). The same answer comes from the schema's own relations.
"""
from django.db.backends.postgresql.introspection import TableInfo
from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection


class SchemaIntrospection(DatabaseSchemaIntrospection):
    def get_table_list(self, cursor):
        """The tables, views and partitions of the connection's schema (Django's query, with
        the schema's name in place of the visibility test)."""
        cursor.execute(
            """
            SELECT c.relname,
                   CASE WHEN c.relispartition THEN 'p' WHEN c.relkind IN ('m', 'v') THEN 'v' ELSE 't' END,
                   obj_description(c.oid, 'pg_class')
            FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v') AND n.nspname = %s
            """,
            [self.connection.schema_name],
        )
        return [TableInfo(*row) for row in cursor.fetchall() if row[0] not in self.ignored_tables]
