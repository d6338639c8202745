"""A system check: the platform refuses to start (and `attt check` fails) while a data file is broken."""

from django.core.checks import Error, register


@register()
def regulation_data(app_configs=None, **kwargs):
    from attt.regulation import incidents, loader
    from attt.regulation.errors import DataError

    try:
        for regime in loader.catalogue().regimes:  # incidents.yaml is read apart from the catalogue
            incidents.policy(regime.code, loader.DATA_DIR)
    except DataError as exc:
        return [Error(str(exc), hint="Fix the file under src/attt/regulation/data/.", id="regulation.E001")]
    return []
