"""The menu: each module registers its section; entries show only to those holding their permission."""

from dataclasses import dataclass, field

from django.urls import reverse


@dataclass
class Item:
    label: str
    url_name: str
    permission: str

    @property
    def url(self) -> str:
        return reverse(self.url_name)


@dataclass
class Section:
    key: str
    label: str
    icon: str
    items: list[Item] = field(default_factory=list)


sections: list[Section] = []


def register(section: Section) -> None:
    sections[:] = [s for s in sections if s.key != section.key] + [section]


def menu_for(scope) -> list[tuple[Section, list[Item]]]:
    menu = []
    for section in sections:
        items = [item for item in section.items if scope.has_anywhere(item.permission)]
        if items:
            menu.append((section, items))
    return menu


@dataclass
class ObjectLink:
    """A link another module adds to an object's page (e.g. compliance on a registry system)."""

    label: str
    url_name: str  # reversed with the object's pk
    permission: str


object_links: dict[str, list[ObjectLink]] = {}


def register_object_link(model_label: str, link: ObjectLink) -> None:
    """`model_label` is 'app_label.modelname', so the module adding the link imports nothing of the other."""
    object_links.setdefault(model_label, []).append(link)


def links_for(obj, scope) -> list[tuple[str, str]]:
    return [
        (link.label, reverse(link.url_name, args=[obj.pk]))
        for link in object_links.get(obj._meta.label_lower, [])
        if scope.has_anywhere(link.permission)
    ]
