import os
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the platform with gunicorn (production-style), with a background-job worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="Web worker processes.")
        parser.add_argument("--no-jobs", action="store_true", help="Do not start the background-job worker.")

    def handle(self, *args, host, port, workers, no_jobs, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        env = dict(os.environ)  # carries DJANGO_SETTINGS_MODULE to both children
        jobs = None
        if not no_jobs:
            jobs = subprocess.Popen([sys.executable, "-m", "attt", "qcluster"], env=env)
        try:
            # gunicorn runs as a child, so stopping `attt serve` stops the job worker with it.
            subprocess.call(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "attt.wsgi:application",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    str(workers),
                    "--access-logfile",
                    "-",
                ],
                env=env,
            )
        except KeyboardInterrupt:
            pass
        finally:
            if jobs is not None:
                jobs.terminate()
                jobs.wait(timeout=10)
