"""`{% concert_page_body page now %}`: the concert page's shared body (concerts.detail_page) filled for this
visit, inside the page's own rendering so it takes the CSRF token the layout uses too (one per page) and renders
the fan's entry challenge with the page's context.
"""

import datetime

from django import template
from django.template.context import Context
from django.template.loader import get_template
from django.utils.safestring import SafeString

from concerts import detail_page

register = template.Library()


@register.simple_tag(takes_context=True)
def concert_page_body(context: Context, page: detail_page.ConcertPage, now: datetime.datetime) -> SafeString:
    def challenge() -> str:
        # queueing's include: nothing unless this fan has a challenge to solve (its {% queue_challenge %} tag).
        with context.push(concert=page.concert):
            return get_template("queueing/_challenge.html").template.render(context)  # type: ignore[attr-defined, no-any-return]

    return detail_page.fill(page, csrf_token=str(context.get("csrf_token", "")), challenge=challenge, now=now)
