from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.provisioning.services import spare_schema_ensure


class Command(BaseCommand):
    help = (
        "Everything `make run` needs before serving, in one process: migrate every schema, create the "
        "demo tenant and its data once, and (re)set the demo staff login."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--domain", default="demo.localhost")
        parser.add_argument("--students", type=int, default=2000)
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, **options):
        call_command("migrate_schemas", shared=True, verbosity=0)
        call_command(
            "create_tenant", slug=options["slug"], name="Demo University", domain=options["domain"], if_missing=True
        )
        call_command("migrate_schemas", verbosity=0)
        spare_schema_ensure()  # so the next create_tenant takes well under a second
        call_command("seed_demo", tenant=options["slug"], students=options["students"], if_empty=True)
        call_command(
            "create_staff", tenant=options["slug"], email=options["email"], password=options["password"],
            role=["admin", "operator"], name="Demo Operator",
        )
        call_command("collectstatic", interactive=False, verbosity=0)
