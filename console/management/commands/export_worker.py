"""Run background exports (console.exports) from every tenant's queue until stopped
(SIGTERM or SIGINT: the job in hand goes back to the queue). `make run` starts one beside
the server (config.serve, EXPORT_WORKERS); run more on other machines as needed."""
import signal

from django.core.management.base import BaseCommand

from console.exports.services import export_worker_run


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run what is waiting, then exit.")
        parser.add_argument("--poll", type=float, default=1.0, help="Seconds between looks at the queues.")
        parser.add_argument("--parent-pid", type=int, default=None, help="Exit when this process is gone.")

    def handle(self, *args, once=False, poll=1.0, parent_pid=None, **options):
        stop = []

        def request_stop(signum, frame):
            stop.append(signum)

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        ran = export_worker_run(once=once, poll_seconds=poll, stopping=lambda: bool(stop), parent_pid=parent_pid)
        self.stdout.write(f"{ran:,} export{'s' if ran != 1 else ''} run.")
