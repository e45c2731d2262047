"""Template tags other apps' pages use to show the waiting room's pre-queue (concerts may not import queueing)."""

from django import template

from concerts.models import Concert

from .. import services

register = template.Library()


@register.simple_tag
def draw_commitment(concert: Concert) -> str:
    """The SHA-256 commitment of the concert's draw: `{% draw_commitment concert as commitment %}`."""
    return services.draw_commitment(concert)
