"""manage.py import_sessions --tenant SLUG FILE.jsonl

One session per line: the PUT /v1/sessions/{session_id} body plus `session_id`. Lines are
validated and upserted by attempts.ingestion (the same rules as the API), in chunks: each
chunk commits on its own, and within a chunk a failing line is retried alone, so one bad
line never stops or half-writes the others. Running the same file again changes nothing.
"""
import json
import sys
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from tqdm import tqdm

from attempts.ingestion import services as ingestion
from config.errors import AppError
from tenants.models import Tenant

MSG_NOT_JSON = "The line is not valid JSON: {error}"
MSG_NOT_OBJECT = "The line must be a JSON object."
MSG_NOT_NUMBER = "NaN and Infinity are not numbers."


def _no_constants(name):
    raise ValueError(MSG_NOT_NUMBER)


def parse_line(raw):
    """The SessionInput of one line, or an AppError saying why not."""
    ingestion.body_size_check(len(raw))
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AppError.validation({"line": MSG_NOT_JSON.format(error=exc)}) from None
    if not isinstance(data, dict):
        raise AppError.validation({"line": MSG_NOT_OBJECT})
    return ingestion.session_input(data=data)


def reason_of(error):
    return ingestion.Outcome("", ingestion.REJECTED, error).reason


class Command(BaseCommand):
    help = "Import sessions from a JSON Lines file (one PUT /v1/sessions body plus session_id per line). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the .jsonl file.")
        parser.add_argument("--tenant", required=True, help="Slug of the tenant to import into.")
        parser.add_argument("--chunk-size", type=int, default=1000, help="Lines per transaction (default 1000).")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")

    def handle(self, *args, file, tenant, chunk_size, no_progress, **options):
        if not 1 <= chunk_size <= 10_000:
            raise CommandError("--chunk-size must be between 1 and 10000.")
        target = Tenant.objects.filter(slug=tenant).exclude(schema_name="public").first()
        if target is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        try:
            with open(file, "rb") as fh:
                total_lines = sum(1 for _ in fh)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None

        connection.set_tenant(target)
        counts = Counter()
        rejections = []  # (line number, reason)
        started = time.monotonic()
        pending = []  # (line number, SessionInput)

        def flush():
            if not pending:
                return
            with transaction.atomic():
                outcomes = ingestion.sessions_ingest(items=[item for _, item in pending])
            for (line_no, _), outcome in zip(pending, outcomes, strict=True):
                counts[outcome.result] += 1
                if outcome.result == ingestion.REJECTED:
                    rejections.append((line_no, outcome.reason))
            pending.clear()

        with open(file, "rb") as fh, tqdm(
            total=total_lines, unit="line", disable=no_progress, file=sys.stderr, desc="Importing sessions"
        ) as bar:
            for line_no, raw in enumerate(fh, start=1):
                if raw.strip():
                    try:
                        pending.append((line_no, parse_line(raw)))
                    except AppError as exc:
                        counts[ingestion.REJECTED] += 1
                        rejections.append((line_no, reason_of(exc)))
                    if len(pending) >= chunk_size:
                        flush()
                bar.update(1)
            flush()

        rejections.sort()
        for line_no, reason in rejections:
            self.stdout.write(f"line {line_no}: rejected: {reason}")
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"created {counts[ingestion.CREATED]}, updated {counts[ingestion.UPDATED]}, "
            f"unchanged {counts[ingestion.UNCHANGED]}, rejected {counts[ingestion.REJECTED]} "
            f"({total_lines} lines in {elapsed:.1f} s)"
        )
