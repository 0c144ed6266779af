"""Contact center: Twilio's call queues (and, with their issues, TaskRouter, agents and the softphone)."""

from django.apps import AppConfig

from numbering.links import NumberLink, number_link_register


class ContactcenterConfig(AppConfig):
    name = "contactcenter"

    def ready(self) -> None:
        # Registers <Enqueue>, <Leave> and <Dial><Queue> with voice's interpreter and the workers'
        # softphones as voice's `client:` addresses, and connects the receivers of what messaging and
        # the TaskRouter engine announce.
        from contactcenter import dial_queue, enqueue, receivers, softphone  # noqa: F401

        number_link_register(NumberLink("Routing…", "number-routing"))
