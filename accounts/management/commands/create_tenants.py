"""Create many tenants from a CSV file, each with its schema, domain and (optionally) a first
admin who can sign in at once.

The file has a header row naming its columns: `slug`, `name` and `domain`, and optionally
`time_zone` (IANA, default UTC) and `admin_email`. Every row is checked before any tenant is
made: a file with one bad row creates nothing and names every problem by line. A row whose
slug already exists with the same domain is skipped, so a run that was interrupted can simply
be run again. Each tenant is made in one transaction (tenants.provisioning.services), from the
schema template, `--processes` at a time.

With `admin_email`, the tenant gets an admin with a generated password, written (with the
slug and domain) to the `--credentials` file, created with mode 0600 and never overwritten.
"""
import csv
import os
import secrets
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django_tenants.utils import schema_context

from accounts.staff.services import staff_create
from tenants.models import Domain
from tenants.provisioning.pool import fork_pool
from tenants.provisioning.schemas import template_sql
from tenants.provisioning.services import public_tenant_ensure, tenant_create, tenant_validate, validation_text

COLUMNS = ("slug", "name", "domain", "time_zone", "admin_email")
REQUIRED = ("slug", "name", "domain")


def _read(path):
    """(line, row) pairs of the file, or CommandError naming what is wrong with its shape."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [name for name in REQUIRED if name not in header]
            unknown = [name for name in header if name not in COLUMNS]
            if missing or unknown:
                raise CommandError(
                    f"{path}: the header must name {', '.join(REQUIRED)} (and may name time_zone, admin_email); "
                    + "; ".join(filter(None, [missing and f"missing {', '.join(missing)}", unknown and f"unknown {', '.join(unknown)}"]))
                )
            reader.fieldnames = header
            rows = [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CommandError(f"{path}: {exc}") from None
    return rows


def _create(row):
    """Create one row's tenant (and admin); (slug, password or None, error or None)."""
    try:
        tenant = tenant_create(
            slug=row["slug"], name=row["name"], domain=row["domain"], time_zone=row.get("time_zone") or "UTC"
        )
    except ValidationError as exc:  # made meanwhile by someone else
        return row["slug"], None, validation_text(exc)
    password = None
    if row.get("admin_email"):
        password = secrets.token_urlsafe(18)
        with schema_context(tenant.schema_name):
            staff_create(email=row["admin_email"], password=password, roles=["admin"], is_staff=True)
    connection.set_schema_to_public()
    return row["slug"], password, None


class Command(BaseCommand):
    help = "Create tenants from a CSV file (slug, name, domain[, time_zone][, admin_email])."

    def add_arguments(self, parser):
        parser.add_argument("--csv", required=True, help="The file of tenants")
        parser.add_argument("--credentials", help="Where to write the admins' passwords (required with admin_email)")
        parser.add_argument(
            "--processes", type=int, default=settings.TENANT_MULTIPROCESSING_MAX_PROCESSES,
            help="Tenants created at once (default MIGRATION_PROCESSES)",
        )

    def handle(self, *args, **options):
        rows = _read(options["csv"])
        public_tenant_ensure()
        todo, skipped = self._check(rows, options)
        if not todo:
            self.stdout.write(f"Nothing to create ({skipped} already exist).")
            return
        credentials = self._open_credentials(options["credentials"], todo)
        template_sql("check")  # built once here, not by every worker at once
        started = time.perf_counter()
        passwords, failed = {}, []
        processes = max(1, min(options["processes"], len(todo)))
        try:
            for done, (slug, password, error) in enumerate(self._run(todo, processes), start=1):
                if error:
                    failed.append(slug)
                    self.stderr.write(f"{slug}: not created: {error}")
                if password:
                    passwords[slug] = password
                if done % 100 == 0 or done == len(todo):
                    self.stdout.write(f"{done}/{len(todo)} tenants created ({time.perf_counter() - started:.1f} s)")
        finally:
            if credentials:
                self._write_credentials(credentials, todo, passwords)
        elapsed = time.perf_counter() - started
        created = len(todo) - len(failed)
        self.stdout.write(self.style.SUCCESS(
            f"Created {created} tenants in {elapsed:.1f} s ({elapsed / len(todo):.3f} s each"
            f"{f', {processes} at a time' if processes > 1 else ''}); {skipped} already existed."
        ))
        if failed:
            raise CommandError(f"{len(failed)} tenant(s) not created: {', '.join(failed)}")

    def _check(self, rows, options):
        """The rows to create and how many exist already; CommandError listing every problem."""
        problems, todo, skipped = [], [], 0
        existing = dict(Domain.objects.filter(tenant__slug__in=[r["slug"] for _, r in rows]).values_list("tenant__slug", "domain"))
        seen = {"slug": {}, "domain": {}}
        for line, row in rows:
            if existing.get(row["slug"]) == row["domain"]:
                skipped += 1
                continue
            for field in ("slug", "domain"):
                if row[field] and row[field] in seen[field]:
                    problems.append(f"line {line}: {field} {row[field]!r} is also on line {seen[field][row[field]]}")
                seen[field].setdefault(row[field], line)
            try:
                tenant_validate(slug=row["slug"], name=row["name"], domain=row["domain"], time_zone=row.get("time_zone") or "UTC")
            except ValidationError as exc:
                problems += [f"line {line}: {field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()]
            email = row.get("admin_email", "")
            if email and ("@" not in email or len(email) > 254):
                problems.append(f"line {line}: admin_email: {email!r} is not an email address")
            todo.append(row)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in {options['csv']}; no tenant was created:\n" + "\n".join(problems))
        if any(row.get("admin_email") for row in todo) and not options["credentials"]:
            raise CommandError("admin_email needs --credentials FILE, where the generated passwords are written.")
        return todo, skipped

    def _open_credentials(self, path, todo):
        if not path or not any(row.get("admin_email") for row in todo):
            return None
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CommandError(f"--credentials {path}: {exc.strerror} (it is never overwritten)") from None

    def _write_credentials(self, descriptor, todo, passwords):
        with os.fdopen(descriptor, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["slug", "domain", "admin_email", "password"])
            for row in todo:
                if row["slug"] in passwords:
                    writer.writerow([row["slug"], row["domain"], row["admin_email"], passwords[row["slug"]]])

    def _run(self, todo, processes):
        if processes == 1:
            yield from map(_create, todo)
            return
        with fork_pool(processes) as pool:
            yield from pool.imap_unordered(_create, todo)

