pytest_plugins = ["attt.core.testing", "attt.monitoring.testing"]


def pytest_configure(config):
    """Load every module's isolation-matrix factories, whichever folder the run collects."""
    import importlib
    import importlib.util
    import pkgutil

    import django

    django.setup()
    from django.apps import apps

    for app in apps.get_app_configs():
        if not app.name.startswith("attt.") or importlib.util.find_spec(f"{app.name}.tests") is None:
            continue
        tests = importlib.import_module(f"{app.name}.tests")
        for module in pkgutil.iter_modules(tests.__path__):
            if module.name.startswith("factories"):
                importlib.import_module(f"{app.name}.tests.{module.name}")
