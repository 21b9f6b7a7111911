"""Summaries and reading figures (cms.delivery.summary): extractive, offline, deterministic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cms.delivery.summary as summary_module
from cms.content.text import prose, word_count
from cms.delivery.summary import public_summary, reading_time_minutes, summarize

ROOT = Path(__file__).resolve().parents[1]

# A news article about one thing (a sea wall against the harbour's flooding), with filler that is
# about other things: it opens with a weather aside and has a paragraph of unrelated city news.
# Each paragraph is given as its sentences, so tests know exactly where sentences begin and end.
WEATHER = "It was an unusually warm morning for late October, and the café terraces on Main Street were full before nine."  # noqa: E501
SEA_WALL_PARAGRAPHS: list[list[str]] = [
    [
        WEATHER,
        "Pigeons gathered on the steps of the town hall while a street musician played an old jazz tune.",  # noqa: E501
    ],
    [
        "The city council voted on Tuesday to build a new sea wall to protect the old harbour district from flooding.",  # noqa: E501
        "The sea wall, a concrete and steel barrier 2.4 kilometres long, is designed to hold back storm surges of up to three metres.",  # noqa: E501
    ],
    [
        "Dr. Anna Weber, a coastal engineer at the university, said the harbour district had flooded six times in the past decade.",  # noqa: E501
        "Each flood closed shops and homes in the harbour for weeks, and the damage from the worst storm surge cost more than 20 million euros.",  # noqa: E501
    ],
    [
        "The council meeting ran late, and several members left early to attend a school concert.",  # noqa: E501
        "Sandwiches and coffee were served in the lobby during a short break.",
    ],
    [
        "The sea wall will cost an estimated 48 million euros, and half of the money will come from a national flood protection fund.",  # noqa: E501
        "The council will borrow the rest over thirty years, a plan that opposition members criticised as too expensive.",  # noqa: E501
    ],
    [
        "Construction of the sea wall is expected to begin next spring and to take about three years.",  # noqa: E501
        "During the works, parts of the harbour promenade will close and the weekly fish market will move to a temporary site.",  # noqa: E501
    ],
    [
        "Elsewhere in the city, the public library announced longer opening hours for the holiday season.",  # noqa: E501
        "The local football club also won its third match in a row on Saturday.",
    ],
    [
        "Scientists expect storm surges on this coast to become more frequent as sea levels rise, which makes flood protection for the harbour district more urgent.",  # noqa: E501
        "The council said the sea wall was designed with future sea level rise in mind, so the harbour would stay protected from flooding for decades.",  # noqa: E501
    ],
    [
        "Shop owners in the harbour district welcomed the decision but asked the council for help during construction.",  # noqa: E501
        "Some residents would have preferred a lower wall that keeps the view of the sea.",
    ],
    [
        "The weather is expected to turn colder by the weekend, with light rain forecast for Sunday.",  # noqa: E501
    ],
]
SEA_WALL_SENTENCES = [s for paragraph in SEA_WALL_PARAGRAPHS for s in paragraph]
FILLER = {
    WEATHER,
    "Pigeons gathered on the steps of the town hall while a street musician played an old jazz tune.",  # noqa: E501
    "The council meeting ran late, and several members left early to attend a school concert.",
    "Sandwiches and coffee were served in the lobby during a short break.",
    "Elsewhere in the city, the public library announced longer opening hours for the holiday season.",  # noqa: E501
    "The local football club also won its third match in a row on Saturday.",
    "The weather is expected to turn colder by the weekend, with light rain forecast for Sunday.",
}
HEADING = "Sea wall approved to end flooding of the harbour district"
CAPTION = "The sea wall will protect the harbour district from flooding and storm surges, the council said."  # noqa: E501


def sea_wall_article(**extra: Any) -> dict[str, Any]:
    """The sea wall article, paragraphs as body blocks, with a heading and a captioned image."""
    body: list[dict[str, Any]] = [
        {"type": "paragraph", "text": " ".join(p)} for p in SEA_WALL_PARAGRAPHS
    ]
    body.insert(3, {"type": "heading", "text": HEADING, "level": 2})
    body.insert(
        6,
        {
            "type": "image",
            "src": "https://example.org/wall.jpg",
            "alt": "Waves over the harbour wall",
            "caption": CAPTION,
        },
    )
    body.append({"type": "embed", "url": "https://example.org/video"})
    return {"title": "Council approves harbour sea wall", "language": "en", "body": body, **extra}


def split_summary(summary: str, sentences: list[str]) -> list[str]:
    """The sentences (from `sentences`, in order) that `summary` is made of; fails otherwise."""
    found: list[str] = []
    rest = summary
    for sentence in sentences:
        if rest == sentence or rest.startswith(sentence + " "):
            found.append(sentence)
            rest = rest[len(sentence) + 1 :]
    assert rest == "", f"not made of whole body sentences in order: {summary!r}"
    return found


def paragraphs(*texts: str) -> list[dict[str, Any]]:
    return [{"type": "paragraph", "text": t} for t in texts]


# -- the generated summary --------------------------------------------------------------------


def test_summary_is_the_articles_central_sentences_verbatim_and_in_order() -> None:
    summary = summarize(sea_wall_article())
    picked = split_summary(summary, SEA_WALL_SENTENCES)
    assert len(picked) == 2
    assert not FILLER & set(picked), picked
    assert all("sea wall" in s or "flood" in s for s in picked), picked


@pytest.mark.parametrize("title", [True, False])
def test_summary_is_not_the_lead(title: bool) -> None:
    article = sea_wall_article()
    if not title:
        del article["title"]
    for count in (1, 2, 3, 4):
        summary = summarize(article, sentences=count)
        picked = split_summary(summary, SEA_WALL_SENTENCES)
        assert len(picked) == count
        assert picked != SEA_WALL_SENTENCES[:count]
        assert WEATHER not in summary
        assert not FILLER & set(picked), picked


def test_longer_summaries_still_skip_the_filler() -> None:
    picked = split_summary(
        summarize(sea_wall_article(), sentences=5, max_chars=2000), SEA_WALL_SENTENCES
    )
    assert len(picked) == 5
    assert not FILLER & set(picked), picked


def test_summary_is_deterministic() -> None:
    first = summarize(sea_wall_article(), sentences=3, max_chars=1000)
    again = [
        summarize(json.loads(json.dumps(sea_wall_article())), sentences=3, max_chars=1000)
        for _ in range(3)
    ]
    assert again == [first] * 3


def test_summary_respects_max_chars_by_dropping_trailing_sentences() -> None:
    article = sea_wall_article()
    full = summarize(article, sentences=3, max_chars=2000)
    picked = split_summary(full, SEA_WALL_SENTENCES)
    assert len(picked) == 3 and len(full) > 300
    limit = len(picked[0]) + 1 + len(picked[1])
    assert summarize(article, sentences=3, max_chars=limit) == " ".join(picked[:2])
    assert summarize(article, sentences=3, max_chars=limit - 1) == picked[0]
    for max_chars in (50, 120, 250, 400, 600):
        assert len(summarize(article, sentences=3, max_chars=max_chars)) <= max_chars


def test_a_sentence_longer_than_max_chars_is_cut_at_a_word_boundary() -> None:
    article = sea_wall_article()
    first = split_summary(summarize(article, sentences=1), SEA_WALL_SENTENCES)[0]
    cut = summarize(article, sentences=1, max_chars=40)
    assert len(cut) <= 40
    assert cut.endswith("…")
    kept = cut[:-1]
    assert first.startswith(kept)
    assert first[len(kept)] == " ", "cut inside a word"
    assert len(kept) > 25


def test_headings_and_captions_are_not_summarised() -> None:
    summary = summarize(sea_wall_article(), sentences=6, max_chars=5000)
    split_summary(summary, SEA_WALL_SENTENCES)
    assert HEADING not in summary
    assert CAPTION not in summary
    # On its own, the caption would be the summary: it is left out because it is a caption.
    only = {
        "body": [
            {
                "type": "image",
                "src": "https://example.org/a.jpg",
                "alt": "Waves",
                "caption": CAPTION,
            },
            {"type": "heading", "text": HEADING, "level": 2},
        ]
    }
    assert summarize(only) == ""


def test_quotes_and_list_items_count_as_text() -> None:
    body = [
        {"type": "heading", "text": "Background", "level": 2},
        {
            "type": "quote",
            "text": "We will not let the sea take the harbour.",
            "cite": "Mayor Elena Fischer",
        },
        {"type": "list", "ordered": False, "items": ["Cost: 48 million euros.", "Length: 2.4 km."]},
        {"type": "image", "src": "https://example.org/a.jpg", "alt": "The harbour"},
        {"type": "embed", "url": "https://example.org/v"},
    ]
    assert prose(body) == [
        "We will not let the sea take the harbour.",
        "Cost: 48 million euros.",
        "Length: 2.4 km.",
    ]
    assert summarize({"body": body}, sentences=3) == (
        "We will not let the sea take the harbour. Cost: 48 million euros. Length: 2.4 km."
    )


def test_prose_skips_blank_and_malformed_blocks() -> None:
    body: list[Any] = [
        {"type": "paragraph", "text": "  Two\n  lines.  "},
        {"type": "paragraph", "text": "   "},
        {"type": "paragraph"},
        "not a block",
        {"type": "list", "items": ["One.", "", 3], "ordered": True},
        {"type": "image", "src": "x", "alt": "alt text", "caption": "A caption."},
    ]
    assert prose(body) == ["Two lines.", "One."]


def test_short_bodies_are_returned_whole() -> None:
    assert summarize({"body": paragraphs("Just one sentence here.")}) == "Just one sentence here."
    two = paragraphs("The bridge reopened on Monday.", "Traffic is back to normal.")
    assert summarize({"body": two}) == "The bridge reopened on Monday. Traffic is back to normal."
    assert summarize({"body": two}, sentences=1) in {
        "The bridge reopened on Monday.",
        "Traffic is back to normal.",
    }
    # whole, but still within max_chars
    assert summarize({"body": two}, max_chars=40) == "The bridge reopened on Monday."


def test_empty_bodies_give_an_empty_summary() -> None:
    assert summarize({"body": []}) == ""
    assert summarize({}) == ""
    assert summarize({"body": paragraphs("", "   ")}) == ""
    assert summarize({"body": [{"type": "embed", "url": "https://example.org/v"}]}) == ""


def test_a_body_of_only_stop_words_still_gives_a_summary() -> None:
    body = paragraphs("It is what it is.", "And so it was.", "It was.", "So it is.")
    assert summarize({"body": body}) == "It is what it is. And so it was."


def test_repeated_sentences_appear_once() -> None:
    article = sea_wall_article()
    article["body"] = article["body"] + article["body"]
    picked = split_summary(summarize(article, sentences=3, max_chars=2000), SEA_WALL_SENTENCES)
    assert len(set(picked)) == 3


def test_repeated_boilerplate_does_not_vote_for_itself() -> None:
    article = sea_wall_article()
    del article["title"]
    boilerplate = "Subscribe to our newsletter for more local news every morning."
    for at in (2, 5, 8, 11, 13):
        article["body"].insert(at, {"type": "paragraph", "text": boilerplate})
    summary = summarize(article, sentences=5, max_chars=5000)
    assert boilerplate not in summary
    assert len(split_summary(summary, SEA_WALL_SENTENCES)) == 5


def test_a_sentence_unrelated_to_all_others_ranks_last() -> None:
    tram = [
        "The new tram line will link the station with the university.",
        "Trams on the line will run every six minutes from the station.",
        "The university expects most students to use the tram every day.",
        "Students said the tram would save them a long walk.",
    ]
    cat = "A cat was seen sleeping on a warm car bonnet nearby."
    body = paragraphs(*tram[:2], cat, *tram[2:])
    assert summarize({"body": body}, sentences=4, max_chars=1000) == " ".join(tram)


def test_only_the_start_of_a_very_long_body_is_ranked(monkeypatch: pytest.MonkeyPatch) -> None:
    article = sea_wall_article(title="Harbour news in brief")
    monkeypatch.setattr(summary_module, "MAX_SENTENCES", 5)
    picked = split_summary(summarize(article, sentences=3), SEA_WALL_SENTENCES)
    assert set(picked) <= set(SEA_WALL_SENTENCES[:5]), picked
    monkeypatch.setattr(summary_module, "MAX_SENTENCES", 250)
    monkeypatch.setattr(summary_module, "MAX_WORDS", 30)
    # (another max_chars, so that the summary memoised for the first limit is not reused)
    picked = split_summary(summarize(article, sentences=3, max_chars=599), SEA_WALL_SENTENCES)
    assert set(picked) <= set(SEA_WALL_SENTENCES[:4]), picked


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "Dr. Anna Weber arrived at 9 a.m. on Jan. 5 with the U.S. delegation. "
        "She met Mr. Smith at the harbour. The sea wall plans were discussed at length."
    )
    summary = summarize({"body": paragraphs(text)}, sentences=3, max_chars=1000)
    assert summary == text


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        summarize(sea_wall_article(), sentences=0)
    with pytest.raises(ValueError):
        summarize(sea_wall_article(), max_chars=0)


# -- other languages --------------------------------------------------------------------------

# The same story in German. Its filler shares many German function words (der, die, und, wie,
# wieder, auch, nicht, für, es): only German stop words keep them from linking the filler up.
DEICH_PARAGRAPHS = [
    [
        "Wie an jedem Morgen hing über der Altstadt dichter Nebel, und die Bäcker öffneten wieder um sechs Uhr.",  # noqa: E501
        "Der Gemeinderat hat am Dienstag den Bau eines neuen Deiches an der Elbe beschlossen.",
    ],
    [
        "Der Deich soll die Häuser im Hafenviertel künftig vor Hochwasser schützen.",
        "In den vergangenen zehn Jahren stand das Viertel sechsmal unter Wasser.",
    ],
    [
        "Die Sitzung dauerte bis spät in den Abend, und für die Zuhörer gab es wie üblich Brezeln und Kaffee.",  # noqa: E501
        "Viele der Gäste mussten sich wieder hinstellen, weil es auch nicht genügend Stühle im Saal gab.",  # noqa: E501
    ],
    [
        "Der Bau des Deiches kostet rund 30 Millionen Euro, die Hälfte übernimmt das Land.",
        "Nach Angaben der Ingenieure schützt der neue Deich das Hafenviertel auch vor einem Jahrhunderthochwasser.",  # noqa: E501
    ],
    [
        "Am Wochenende gewann der örtliche Fußballverein wieder, und die Fans feierten sich bis in die Nacht.",  # noqa: E501
        "Für Sonntag sagen die Meteorologen wieder leichten Regen voraus, und es wird auch nicht wärmer.",  # noqa: E501
    ],
]
DEICH_SENTENCES = [s for p in DEICH_PARAGRAPHS for s in p]
DEICH_FILLER = {DEICH_SENTENCES[i] for i in (0, 4, 5, 8, 9)}


def deich_article(language: str = "de") -> dict[str, Any]:
    return {
        "title": "Neuer Deich für das Hafenviertel",
        "language": language,
        "body": [{"type": "paragraph", "text": " ".join(p)} for p in DEICH_PARAGRAPHS],
    }


def test_german_article_is_summarised_in_german() -> None:
    for count in (1, 2, 3, 4):
        summary = summarize(deich_article(), sentences=count, max_chars=2000)
        picked = split_summary(summary, DEICH_SENTENCES)
        assert len(picked) == count
        assert not DEICH_FILLER & set(picked), picked
        assert all("Deich" in s for s in picked), picked
        assert picked != DEICH_SENTENCES[:count]
        # a regional tag is the same language
        assert summarize(deich_article("de-AT"), sentences=count, max_chars=2000) == summary


@pytest.mark.parametrize(
    "language", ["en", "de", "fr", "es", "it", "nl", "pt", "pt-BR", "zz", "", "EN-gb"]
)
def test_every_language_gives_whole_sentences(language: str) -> None:
    article = sea_wall_article(language=language)
    picked = split_summary(summarize(article, sentences=3, max_chars=2000), SEA_WALL_SENTENCES)
    assert len(picked) == 3


def test_unknown_languages_are_summarised_as_english() -> None:
    english = summarize(sea_wall_article(), sentences=3)
    assert summarize(sea_wall_article(language="tlh"), sentences=3) == english
    assert summarize(sea_wall_article(language=None), sentences=3) == english
    article = sea_wall_article()
    del article["language"]
    assert summarize(article, sentences=3) == english


def test_romance_titles_do_not_end_sentences() -> None:
    text = (
        "Según el Sr. Pérez, el nuevo dique protegerá el puerto. "
        "La Sra. López no opinó sobre el dique. El puerto se inundó seis veces."
    )
    summary = summarize({"language": "es", "body": paragraphs(text)}, sentences=3, max_chars=1000)
    assert summary == text


# -- public_summary ---------------------------------------------------------------------------


def test_the_editors_summary_wins() -> None:
    own = "Editors' words, kept as written. "
    assert public_summary(sea_wall_article(summary=own)) == (own, False)


def test_a_generated_summary_stands_in_for_a_missing_or_blank_one() -> None:
    generated = summarize(sea_wall_article())
    assert generated
    assert public_summary(sea_wall_article()) == (generated, True)
    assert public_summary(sea_wall_article(summary="")) == (generated, True)
    assert public_summary(sea_wall_article(summary="  \n")) == (generated, True)
    assert public_summary(sea_wall_article(summary=None)) == (generated, True)
    assert public_summary({"title": "Empty", "body": []}) == ("", True)


# -- word count and reading time --------------------------------------------------------------


def test_word_count_counts_title_and_body_text() -> None:
    article = {
        "title": "Storm hits the coast",  # 4
        "body": [
            {"type": "paragraph", "text": "Waves rose three metres."},  # 4
            {"type": "heading", "text": "What happened", "level": 2},  # 2
            {"type": "quote", "text": "It was frightening.", "cite": "A Resident Of Town"},  # 3
            {"type": "list", "items": ["One item", "Two more items"], "ordered": False},  # 5
            {
                "type": "image",
                "src": "https://example.org/a.jpg",
                "alt": "not counted here",
                "caption": "The harbour at dawn",
            },  # 4
            {"type": "embed", "url": "https://example.org/some/words/in/a/url"},  # 0
        ],
    }
    assert word_count(article) == 22


def test_word_count_keeps_apostrophes_and_hyphens_inside_words() -> None:
    article = {
        "title": "Don't panic — it’s a state-of-the-art sea-wall, 2024 edition!",
        "body": paragraphs(
            "Die Bürger in Baden-Württemberg grüßen — l'été à Zürich.", "___ -- ' ..."
        ),
    }
    # Don't / panic / it’s / a / state-of-the-art / sea-wall / 2024 / edition
    # Die / Bürger / in / Baden-Württemberg / grüßen / l'été / à / Zürich
    assert word_count(article) == 16


def test_word_count_of_an_empty_article() -> None:
    assert word_count({}) == 0
    assert word_count({"title": "", "body": []}) == 0


@pytest.mark.parametrize(
    ("words", "minutes"),
    [
        (0, 1),
        (1, 1),
        (229, 1),
        (230, 1),
        (231, 2),
        (460, 2),
        (461, 3),
        (1500, 7),
        (2300, 10),
    ],
)
def test_reading_time_rounds_up_at_230_words_a_minute(words: int, minutes: int) -> None:
    assert reading_time_minutes(words) == minutes


def test_reading_time_of_the_article() -> None:
    words = word_count(sea_wall_article())
    assert 300 < words < 460
    assert reading_time_minutes(words) == 2


# -- offline ----------------------------------------------------------------------------------


def test_no_nltk_data_is_needed(tmp_path: Path) -> None:
    """Summarise in a fresh interpreter whose NLTK finds no data and may not download any."""
    nltk_data = tmp_path / "nltk_data"
    home = tmp_path / "home"
    nltk_data.mkdir()
    home.mkdir()
    script = f"""
import json, sys
import nltk, nltk.data

def refuse(*args, **kwargs):
    raise AssertionError(f"NLTK was asked for data: {{args!r}}")

nltk.download = refuse
nltk.data.path[:] = [{str(nltk_data)!r}]  # nothing anywhere else either
from cms.delivery.summary import summarize
article = json.load(sys.stdin)
print(json.dumps([summarize(article), summarize({{**article, "language": "de"}})]))
"""
    env = {
        **os.environ,
        "NLTK_DATA": str(nltk_data),
        "HOME": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(sea_wall_article()),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    english, german = json.loads(done.stdout)
    assert english == summarize(sea_wall_article())
    assert german == summarize(sea_wall_article(language="de"))
    assert not any(nltk_data.iterdir())
    assert not any(home.iterdir())


def test_a_long_article_gets_a_short_summary_of_distinct_sentences() -> None:
    body = [
        {"type": "paragraph", "text": " ".join(f"{s[:-1]}, report {n} says." for s in paragraph)}
        for n in range(5)
        for paragraph in SEA_WALL_PARAGRAPHS
    ]
    article = {"title": "Council approves harbour sea wall", "language": "en", "body": body}
    assert 1500 <= word_count(article) <= 2500
    summary = summarize(article, sentences=3)
    assert 0 < len(summary) <= 600
    assert WEATHER[:-1] not in summary
    # the restatements of one sentence ("…, report 0 says." to "report 4 says.") count once
    originals = [s for s in SEA_WALL_SENTENCES if s[:-1] in summary]
    assert len(originals) == 3, summary


def test_a_restated_sentence_is_not_picked_twice() -> None:
    article = sea_wall_article()
    top = split_summary(summarize(article, sentences=1), SEA_WALL_SENTENCES)[0]
    restated = top.replace("The council said", "Council officials repeated that")
    article["body"].append({"type": "paragraph", "text": restated})
    summary = summarize(article, sentences=3, max_chars=2000)
    assert (top in summary) != (restated in summary), summary
    assert len(split_summary(summary, [*SEA_WALL_SENTENCES, restated])) == 3
