"""The public page of a concert's draw (/concerts/<id>/draw/) and its JSON download: no log-in, the commitment
before the draw, the seed and every receipt's place after it, paged by place; no names, e-mails or ids."""

import datetime
import hashlib
import hmac
import html
import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from queueing import services, views
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.factories import UserFactory
from tests.support.draws import run_a_draw, sale_opening_soon

pytestmark = pytest.mark.django_db


def page_url(concert, **query):
    url = reverse("queueing:draw", kwargs={"concert_id": concert.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def json_url(concert):
    return reverse("queueing:draw_json", kwargs={"concert_id": concert.pk})


def english(client):
    client.cookies["django_language"] = "en"
    return client


def download(client, concert):
    response = client.get(json_url(concert))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.streaming
    return json.loads(b"".join(response.streaming_content))


@pytest.fixture
def drawn(queue_backend):
    return run_a_draw(entrants=7, leavers=1, later=2)


def test_before_the_prequeue_opens_the_page_says_what_will_happen(client):
    concert = sale_opening_soon()
    WaitingRoom.objects.create(concert=concert)
    room = WaitingRoom.objects.get(pk=concert.pk)
    response = english(client).get(page_url(concert))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-draw-state="not_open"' in body
    # Not shown before the pre-queue opens: until then the room may still serve a presale first (another seed).
    assert room.draw_commitment not in body
    assert room.draw_seed not in body
    assert "Kept secret until the draw" in body
    assert 'data-testid="draw-table"' not in body


def test_once_the_prequeue_is_open_the_commitment_is_on_show_even_before_anyone_entered(client, settings):
    settings.PREQUEUE_MINUTES = 90  # the pre-queue of a sale opening in an hour is open now
    concert = sale_opening_soon()
    assert not WaitingRoom.objects.filter(pk=concert.pk).exists()

    body = english(client).get(page_url(concert)).content.decode()

    room = WaitingRoom.objects.get(pk=concert.pk)
    assert 'data-draw-state="prequeue"' in body
    assert f'data-testid="draw-commitment">{room.draw_commitment}<' in body
    assert room.draw_seed not in body


def test_after_the_draw_the_page_shows_the_seed_and_every_place_in_korean(client, drawn):
    room = WaitingRoom.objects.get(pk=drawn.concert.pk)
    response = client.get(page_url(drawn.concert))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ko">' in body
    assert "추첨" in body
    assert 'data-draw-state="drawn"' in body
    assert room.draw_seed in body and room.draw_commitment in body
    rows = [
        (row.receipt, row.queue_position)
        for row in QueueEntryHistory.objects.filter(concert=drawn.concert).exclude(receipt="")
        if row.queue_position
    ]
    assert len(rows) == 6
    for receipt, place in rows:
        assert f'<tr id="{receipt}"><td class="num">{place}</td><td><code>{receipt}</code></td></tr>' in body
    left = drawn.history(drawn.left[0]).receipt
    assert f"<code>{left}</code>" not in body


def test_the_page_names_nobody(client, drawn):
    body = client.get(page_url(drawn.concert)).content.decode()
    data = json.dumps(download(client, drawn.concert))
    for fan in drawn.prequeued + drawn.later:
        for secret in (fan.email, fan.name, str(fan.pk)):
            assert secret not in body and secret not in data
    for row in QueueEntryHistory.objects.filter(concert=drawn.concert):
        assert str(row.token) not in body and str(row.token) not in data
    assert "203.0.113.7" not in body and "203.0.113.7" not in data


def test_pages_are_ranges_of_places(client, drawn, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(views, "DRAW_PAGE_SIZE", 4)
    english(client)
    with django_assert_max_num_queries(6):  # concert, room, the page's rows (and the session machinery)
        second = client.get(page_url(drawn.concert, page=2)).content.decode()
    assert "Places 5–6" in second
    assert "2 / 2" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert second.count('<td class="num">') == 2
    for bad in ["0", "-3", "zzz", "999"]:
        response = client.get(page_url(drawn.concert, page=bad))
        assert response.status_code == 200


def test_a_receipt_is_found_on_its_page(client, drawn, monkeypatch):
    monkeypatch.setattr(views, "DRAW_PAGE_SIZE", 2)
    row = QueueEntryHistory.objects.get(concert=drawn.concert, queue_position=5)
    body = english(client).get(page_url(drawn.concert, receipt=row.receipt.lower())).content.decode()
    assert f"Receipt {row.receipt} has place 5." in body
    assert f'<tr id="{row.receipt}" class="is-found">' in body
    assert "3 / 3" in body

    left = drawn.history(drawn.left[0]).receipt
    assert f"No drawn entry has receipt {left}" in client.get(page_url(drawn.concert, receipt=left)).content.decode()


def test_a_malformed_receipt_is_a_400_with_a_message(client, drawn):
    response = english(client).get(page_url(drawn.concert, receipt="<script>"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "A receipt is P followed by six digits" in body
    assert "<script>" not in body.split('id="draw-receipt"')[1].split(">")[0]


def test_the_download_is_the_whole_draw_and_checks_with_the_standard_library(client, drawn):
    room = WaitingRoom.objects.get(pk=drawn.concert.pk)
    draw = download(client, drawn.concert)

    assert draw["concert"] == str(drawn.concert.pk)
    assert (draw["commitment"], draw["seed"], draw["draw_size"]) == (room.draw_commitment, room.draw_seed, 6)
    assert draw["drawn_at"] == room.drawn_at.isoformat()
    # The README's check, as anyone would run it.
    seed = bytes.fromhex(draw["seed"])
    assert hashlib.sha256(seed).hexdigest() == draw["commitment"]
    receipts = [receipt for receipt, place in draw["entries"]]
    order = sorted(receipts, key=lambda r: (hmac.new(seed, r.encode("ascii"), hashlib.sha256).digest(), r))
    assert [[r, i] for i, r in enumerate(order, 1)] == draw["entries"]


def test_a_big_download_comes_in_chunks(client, queue_backend):
    draw = run_a_draw(entrants=0, leavers=0, later=0)
    room = WaitingRoom.objects.get(pk=draw.concert.pk)
    fan = UserFactory()
    QueueEntryHistory.objects.bulk_create(
        QueueEntryHistory(
            user=fan,
            concert=draw.concert,
            token=f"00000000-0000-0000-0000-{i:012d}",
            receipt=f"P{i:06d}",
            queue_position=i,
            entered_at=draw.opens,
        )
        for i in range(1, 12_001)
    )
    WaitingRoom.objects.filter(pk=room.pk).update(draw_size=12_000)
    response = client.get(json_url(draw.concert))
    chunks = list(response.streaming_content)
    assert len(chunks) >= 4  # the head, 5,000 entries, 5,000 entries, 2,000 and the end
    entries = json.loads(b"".join(chunks))["entries"]
    assert len(entries) == 12_000 and entries[0] == ["P000001", 1] and entries[-1] == ["P012000", 12_000]


def test_before_the_draw_the_download_has_the_commitment_and_no_seed(client, queue_backend, settings):
    settings.PREQUEUE_MINUTES = 90  # the pre-queue of a sale opening in an hour is open now
    concert = sale_opening_soon()
    services.join(user=UserFactory(), concert=concert, now=concert.sale_opens_at - datetime.timedelta(minutes=1))
    draw = download(client, concert)
    room = WaitingRoom.objects.get(pk=concert.pk)
    assert draw == {
        "concert": str(concert.pk),
        "title": concert.title,
        "commitment": room.draw_commitment,
        "seed": None,
        "drawn_at": None,
        "draw_size": 0,
        "entries": [],
    }


def test_an_unknown_concert_is_a_404_and_writes_are_refused(client, drawn):
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/concerts/{missing}/draw/").status_code == 404
    assert client.get(f"/concerts/{missing}/draw.json").status_code == 404
    assert client.post(page_url(drawn.concert)).status_code == 405


def python_block_after(text, heading):
    section = text.split(heading, 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def run_snippet(code, capsys):
    exec(compile(code, "<snippet>", "exec"), {})  # noqa: S102 -- the documented snippet, run as a reader would
    return capsys.readouterr().out


def test_the_readme_and_the_page_snippets_check_a_real_draw_over_http(live_server, transactional_db, capsys):
    draw = run_a_draw(entrants=9, leavers=2, later=1)
    url = live_server.url + json_url(draw.concert)
    readme = (settings.BASE_DIR / "README.md").read_text()
    code = python_block_after(readme, "## Checking a draw").replace(
        "https://frontrow.example/concerts/<id>/draw.json", url
    )
    assert url in code
    assert run_snippet(code, capsys) == "OK: 7 places follow from the seed\n"

    page = Client().get(page_url(draw.concert), HTTP_HOST=live_server.url.split("://")[1]).content.decode()
    shown = html.unescape(page.split("<pre><code>", 1)[1].split("</code></pre>", 1)[0])
    assert url in shown
    assert run_snippet(shown, capsys) == "OK: 7 places follow from the seed\n"

    QueueEntryHistory.objects.filter(concert=draw.concert, queue_position=1).update(queue_position=99)
    with pytest.raises(AssertionError, match="the places do not follow from the seed"):
        run_snippet(code, capsys)


def test_head_on_the_download_reads_no_entries(client, drawn, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.head(json_url(drawn.concert))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == b""
