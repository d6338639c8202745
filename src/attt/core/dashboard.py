"""Home-page widgets: each module registers a function giving a template and its context (or None)."""

from collections.abc import Callable

Widget = Callable[[object], tuple[str, dict] | None]
widgets: list[Widget] = []


def register(widget: Widget) -> Widget:
    widgets.append(widget)
    return widget


def render_for(request) -> list[tuple[str, dict]]:
    return [w for w in (widget(request) for widget in widgets) if w is not None]
