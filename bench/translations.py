"""Translations (issue 28): reads of a repository where a third of the articles are in
translation groups, beside the same reads of the same articles with no group at all.

Two repositories of `n` published articles are built with the same generator and seed; in
every run of 15 articles, 10 stand alone (7 English, 2 Russian, 1 German), 2 are an English
source and its Russian translation, 3 an English source with Russian and German ones. The
second repository holds the same files without `translation_of`. Both are served by
`cms serve` at once; each path is asked once per server (the response cache never answers),
of both in turn by one client (which first alternates), after both have answered as many
other paths untimed:

- article reads: `GET /api/v1/articles/{slug}` of a random sample of the articles (each
  then carries `translations`, and `previous`/`next` in its language);
- fallback list pages: `GET /api/v1/articles?language=ru&fallback=en&page=k` over every page.

Target: the p99 of each at most 1.2x the repository without translations. Also, in-process:
the median of a save of a translation beside a save of an article in no group, in the
repository with translations (the group check runs on the first only).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import urllib.request
from typing import Any

from cms.content.identity import Person
from cms.delivery import cards as public
from cms.store import ArticleStore

from . import build, reads
from .articles import make_article, slug_for
from .report import Row
from .servers import HOST, Server, start_cms
from .settings import Settings
from .stats import median

RUN = 15  # articles per run of the pattern below
ALONE = ("en",) * 7 + ("ru", "ru", "de")
EDITOR = Person("Bench Editor", "bench@example.org")


def shape(number: int) -> tuple[str, int | None]:
    """The language of article `number` and the number of the article it translates."""
    at = (number - 1) % RUN
    if at < len(ALONE):
        return ALONE[at], None
    return {
        10: ("en", None),
        11: ("ru", number - 1),
        12: ("en", None),
        13: ("ru", number - 1),
        14: ("de", number - 2),
    }[at]


def maker(grouped: bool) -> Any:
    def make(rng: random.Random, number: int) -> dict[str, Any]:
        doc = make_article(rng, number)
        language, source = shape(number)
        doc["language"] = language
        if grouped and source is not None:
            doc["translation_of"] = slug_for(source)  # last: the schema's field order
        return doc

    return make


def _store(workdir: str, name: str, n: int, seed: int, grouped: bool) -> tuple[ArticleStore, Any]:
    path = os.path.join(workdir, f"translations-{name}")
    store = ArticleStore.init(path, make_card=public.card)
    built = build.bulk_load(store, n, random.Random(seed), maker(grouped))
    build.publish_all(store)
    return store, built


def _measure(
    servers: tuple[Server, Server], paths: list[str], clients: int
) -> dict[str, reads.Latencies]:
    """Every path once on each server, in pairs: a client asks one server and then the other
    for the same path (which goes first alternates), so a burst of load from the rest of the
    machine falls on both sides alike."""
    times: dict[str, list[float]] = {s.name: [] for s in servers}
    errors = dict.fromkeys(times, 0)
    lock = threading.Lock()
    todo = iter(enumerate(paths))
    started = time.perf_counter()

    def client() -> None:
        connections = {
            s.name: http.client.HTTPConnection(HOST, s.port, timeout=60) for s in servers
        }
        try:
            while True:
                with lock:
                    job = next(todo, None)
                if job is None:
                    return
                number, path = job
                for server in servers if number % 2 == 0 else servers[::-1]:
                    connection = connections[server.name]
                    t0 = time.perf_counter()
                    connection.request("GET", path)
                    response = connection.getresponse()
                    response.read()
                    elapsed = (time.perf_counter() - t0) * 1000
                    with lock:
                        times[server.name].append(elapsed)
                        errors[server.name] += response.status != 200
        finally:
            for connection in connections.values():
                connection.close()

    workers = [threading.Thread(target=client) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return {name: reads.Latencies(name, errors[name], elapsed, times[name]) for name in times}


def _saves(store: ArticleStore, slug: str, count: int) -> list[float]:
    times = []
    for k in range(count):
        etag = store.get(slug).etag
        t0 = time.perf_counter()
        store.patch(slug, {"title": f"Saved again, take {k}"}, EDITOR, {etag})
        times.append((time.perf_counter() - t0) * 1000)
    return times


def run(settings: Settings, workdir: str, seed: int) -> dict[str, Any]:
    n = settings.largest
    rng = random.Random(seed)
    out: dict[str, Any] = {"n": n, "grouped": sum(shape(k)[1] is not None for k in range(1, n + 1))}
    t0 = time.perf_counter()
    grouped, built = _store(workdir, "with", n, seed, True)
    plain, _ = _store(workdir, "without", n, seed, False)
    out["build_s"] = time.perf_counter() - t0
    out["index_build_s"] = built.index_s
    print(f"  built 2 x {n:,} articles in {out['build_s']:.0f}s", flush=True)

    # saves first, before the servers load the machine: a translation's save runs the
    # group check, a lone article's does not (the first save warms both)
    translation = slug_for(next(k for k in range(1, n + 1) if shape(k)[1] is not None))
    alone = slug_for(1)
    repeats = 10 if settings.quick else 30
    for slug in (translation, alone):
        _saves(grouped, slug, 1)
    saves = {"translation": _saves(grouped, translation, repeats), "alone": []}
    saves["alone"] = _saves(grouped, alone, repeats)
    out["save_ms"] = {k: median(v) for k, v in saves.items()}

    ready = f"/api/v1/articles/{slug_for(1)}"
    started = []
    try:
        for store, name in ((grouped, "translations"), (plain, "plain")):
            server = start_cms(
                store.repo.git_dir, workdir, ready, timeout=settings.startup_timeout_s
            )
            server.name = name
            started.append(server)
        servers = (started[0], started[1])
        count = min((n - 1) // 2, 300 if settings.quick else 2000)
        numbers = rng.sample(range(2, n + 1), 2 * count)
        articles = [f"/api/v1/articles/{slug_for(k)}" for k in numbers[:count]]
        with urllib.request.urlopen(
            started[0].url("/api/v1/articles?language=ru&fallback=en&per_page=1"), timeout=60
        ) as answer:
            total = json.load(answer)["meta"]["total"]
        pages = [
            f"/api/v1/articles?language=ru&fallback=en&per_page={per}&page={page}"
            for per in (20, 25)
            for page in range(1, -(-total // per) + 1)
        ]
        rng.shuffle(pages)
        pages = pages[: 200 if settings.quick else 1000]
        out["fallback_total"] = total
        # untimed, on paths never asked again: a fresh server's first answers (cold SQLite
        # pages, first imports) would land in whichever server's half came first
        warm = [f"/api/v1/articles/{slug_for(k)}" for k in numbers[count:]]
        warm += [
            f"/api/v1/articles?language=ru&fallback=en&per_page=30&page={p}"
            for p in range(1, min(-(-total // 30), 100) + 1)
        ]
        for server in servers:
            reads.list_latency(server, warm, settings.list_clients, 120)
        found = {
            "article": _measure(servers, articles, settings.list_clients),
            "fallback": _measure(servers, pages, settings.list_clients),
        }
    finally:
        for server in started:
            server.stop()
    out["latency"] = {
        kind: {name: lat.to_json() for name, lat in by.items()} for kind, by in found.items()
    }
    for kind, by in found.items():
        with_, without = by["translations"].ms, by["plain"].ms
        print(
            f"  {kind}: p99 {with_['p99']:.1f} ms with translations, {without['p99']:.1f} ms "
            f"without ({by['translations'].requests} requests each, errors "
            f"{by['translations'].errors + by['plain'].errors})",
            flush=True,
        )
    print(
        f"  saves: translation {out['save_ms']['translation']:.1f} ms, lone article "
        f"{out['save_ms']['alone']:.1f} ms (medians of {repeats})",
        flush=True,
    )
    return out


def rows(figures: dict[str, Any]) -> list[Row]:
    if not figures:
        return []
    n = f"{figures['n']:,}"
    out = []
    for kind, what in (
        ("article", "article read"),
        ("fallback", "fallback list page (?language=ru&fallback=en)"),
    ):
        by = figures["latency"][kind]
        with_, without = by["translations"]["ms"]["p99"], by["plain"]["ms"]["p99"]
        errors = by["translations"]["errors"] + by["plain"]["errors"]
        ratio = with_ / without if without else float("inf")
        out.append(
            Row(
                f"translations_{kind}_p99_ratio",
                f"{what} p99, {n} articles, a third in groups, beside none",
                "<= 1.2x",
                ratio,
                "x",
                f"{with_:.1f} ms",
                without,
                f"no groups: {without:.1f} ms",
                ratio,
                f"{ratio:.2f}x",
                ratio <= 1.2 and errors == 0,
                by,
            )
        )
    save = figures["save_ms"]
    ratio = save["translation"] / save["alone"] if save["alone"] else float("inf")
    out.append(
        Row(
            "translations_save_ms",
            f"save of a translation beside a lone article (store, {n} articles)",
            "-",
            save["translation"],
            "ms",
            f"{save['translation']:.1f} ms",
            save["alone"],
            f"lone article: {save['alone']:.1f} ms",
            ratio,
            f"{ratio:.2f}x",
            None,
            save,
        )
    )
    return out
