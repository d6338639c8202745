"""A system check: the platform refuses to start (and `attt check` fails) while a data file is broken."""

from django.core.checks import Error, register


@register()
def regulation_data(app_configs=None, **kwargs):
    from attt.regulation import loader
    from attt.regulation.errors import DataError

    try:
        loader.catalogue()
    except DataError as exc:
        return [Error(str(exc), hint="Fix the file under src/attt/regulation/data/.", id="regulation.E001")]
    return []
