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
