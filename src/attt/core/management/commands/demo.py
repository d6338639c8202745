import random

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from attt.core import demo
from attt.core.audit import audit_context
from attt.core.models import Organization


class Command(BaseCommand):
    help = "Load the reproducible demo data set (organisations, users per role, and each module's data)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (same seed, same data).")
        parser.add_argument(
            "--scale", type=float, default=1.0, help="Multiplier for modules' volumes (1 = national scale of the demo)."
        )
        parser.add_argument("--reset", action="store_true", help="Empty the database first (asks no question).")
        parser.add_argument("--only", nargs="*", help="Run only these loaders (by name).")

    def handle(self, *args, seed, scale, reset, only, **options):
        if reset:
            call_command("flush", interactive=False, verbosity=0)
            call_command("migrate", verbosity=0)
        if Organization.objects.exists():
            self.stdout.write("Demo data is already loaded (use --reset to start again).")
            return
        selected = sorted((x for x in demo.loaders if not only or x.name in only), key=lambda x: x.order)
        if only and len(selected) != len(only):
            raise CommandError(f"Unknown loader; known: {', '.join(x.name for x in demo.loaders)}")
        summary = {}
        with (
            tqdm(total=len(selected), desc="demo", unit="step", disable=options["verbosity"] == 0) as bar,
            audit_context(actor_name="system:demo"),
            transaction.atomic(),  # all or nothing: an interrupted load must not pass for a loaded demo next time
        ):
            for loader in selected:
                ctx = demo.DemoContext(
                    rng=random.Random(f"{seed}:{loader.name}"),
                    scale=scale,
                    progress=lambda label, bar=bar: bar.set_postfix_str(label[:30]),
                    stdout=self.stdout,
                )
                summary[loader.name] = loader.func(ctx)
                bar.update(1)
        for name, figures in summary.items():
            self.stdout.write(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded. Log in as 'admin' (national administrator), 'hn.orgadmin' (Hà Nội) or "
                f"'tq.orgadmin' (Tuyên Quang); every demo password is {demo.DEMO_PASSWORD}"
            )
        )
