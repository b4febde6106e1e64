"""A tenant's data as one file, and back (tenant_backup, tenant_restore).

An archive is a tar (its members compressed one by one, as they are written):

- `manifest.json`: the format, when and from which tenant (slug, name, time zone, domains) it
  was made, the migrations its schema had, and for every table its columns, row count and
  checksum (md5 over the sorted md5s of its rows' text), every sequence's position, every
  file's size and sha256, and the sha256 of every other member;
- `pre-data.sql`, `post-data.sql`: `pg_dump --schema` of the tenant's schema, its definition
  before and after the rows (tables and functions; indexes, constraints and triggers);
- `data/<table>.copy.gz`: each table's rows as `COPY … TO STDOUT` writes them, gzipped;
- `files/<storage name>`: the files its rows name (avatars; background exports' files when
  asked for).

Definition, rows and checksums come from one snapshot (a repeatable-read transaction whose
snapshot pg_dump shares), so the archive is the tenant as it was at one instant while staff
went on working. The rows are compressed as COPY sends them, while a second connection,
reading the same snapshot, computes the checksums: the server's two halves of the work run at
once.

A restore may give the tenant another slug, so another schema. pg_dump names the schema in
every statement, and the name may also be any word of the SQL around it (a tenant called
`text` or `index`), so the definition is never rewritten as text: it is loaded into a scratch
database, where PostgreSQL renames the schema, and pg_dump writes it out again under the new
name. The rows are loaded with COPY into the new schema between its two halves, in one
transaction with the tenant's row and domains, and every table's count and checksum is
compared with the manifest before anything commits. Columns that hold the schema's name (a
model's SCHEMA_COLUMNS) are rewritten after that comparison. An archive from an older
release is then migrated like any schema behind.
"""
