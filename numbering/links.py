"""Links a number's row on the portal's numbers page offers to pages of the apps above numbering, which
numbering may not import: each app registers its own from its `AppConfig.ready` (the contact center's
routing settings, say), and the page shows them beside "Release…"."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NumberLink:
    label: str
    url_name: str  # a portal route taking the number's SID as its one argument


NUMBER_LINKS: list[NumberLink] = []


def number_link_register(link: NumberLink) -> None:
    if link not in NUMBER_LINKS:  # ready() may run twice (Django's test runner, autoreload)
        NUMBER_LINKS.append(link)
