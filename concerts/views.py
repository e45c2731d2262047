"""Fans' concert pages: thin views over concerts.selectors."""

from django.shortcuts import render
from django.utils import timezone

from . import selectors


def concert_list(request):
    on_sale, coming_up = selectors.concerts_for_listing(now=timezone.now())
    return render(request, "concerts/list.html", {"on_sale": on_sale, "coming_up": coming_up})
