from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile the .po translation files to .mo with polib (no GNU gettext needed at set-up)."

    def handle(self, *args, **options):
        from django.apps import apps

        compiled = 0
        app_locales = [Path(app.path) / "locale" for app in apps.get_app_configs() if app.name.startswith("attt.")]
        for locale_dir in dict.fromkeys([*map(Path, settings.LOCALE_PATHS), *app_locales]):
            for po_path in locale_dir.glob("*/LC_MESSAGES/*.po"):
                try:
                    catalogue = polib.pofile(str(po_path))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"{po_path}: cannot be read ({exc})") from exc
                catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
                compiled += 1
                self.stdout.write(f"{po_path.relative_to(locale_dir)}: {catalogue.percent_translated()}% translated")
        if not compiled:
            raise CommandError("No .po file found under LOCALE_PATHS.")
