pytest_plugins = ["attt.core.testing"]
