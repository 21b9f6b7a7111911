"""The issue's targets, judged against what the suite measured; one `Row` each.

Rows without a target (one-off index builds, the uncached read figure, in-process revisions)
are informational: `passed` is None.
"""

from __future__ import annotations

from dataclasses import asdict

from . import (
    bulk,
    durable,
    edge,
    gate,
    long_search,
    media,
    merges,
    migration,
    readscale,
    replication,
    translations,
    webhooks,
    workbench,
)
from .reads import WrkRun
from .report import Row
from .stats import median
from .suite import Measured


def _n(n: int) -> str:
    return f"{n:,}"


def _x(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def _rate(ms: float) -> float:
    return 1000 / ms if ms else 0.0


def save_rows(m: Measured) -> list[Row]:
    small, large = m.sizes[0], m.sizes[-1]
    store = _rate(large.median_ms("store"))
    git = _rate(large.median_ms("git"))
    gitpython = _rate(large.median_ms("gitpython"))
    samples = {k: sum(map(len, v.values())) for k, v in large.times_ms.items()}
    rows = [
        Row(
            "store_saves_per_s",
            f"save through the store, 1 process, {_n(large.n)} articles",
            ">= 150/s",
            store,
            "saves/s",
            f"{store:.0f}/s (median {large.median_ms('store'):.2f} ms)",
            git,
            f"git CLI {git:.1f}/s; GitPython {gitpython:.2f}/s",
            store / git if git else None,
            f"{_x(store / git)} git, {_x(store / gitpython)} GitPython",
            store >= 150,
            {"median_ms": {k: large.median_ms(k) for k in samples}, "samples": samples},
        )
    ]
    growth = {k: large.median_ms(k) / small.median_ms(k) for k in ("store", "git", "gitpython")}
    rows.append(
        Row(
            "save_cost_growth",
            f"growth of save cost, {_n(small.n)} -> {_n(large.n)} articles",
            "<= 1.5x",
            growth["store"],
            "x",
            f"{growth['store']:.2f}x ({small.median_ms('store'):.2f} -> "
            f"{large.median_ms('store'):.2f} ms)",
            growth["git"],
            f"git CLI {growth['git']:.1f}x; GitPython {growth['gitpython']:.1f}x",
            growth["store"] / growth["git"],
            f"{growth['store'] / growth['git']:.2f} of git's",
            growth["store"] <= 1.5,
            {"growth": growth, "median_ms_by_size": {s.n: s.median_ms("store") for s in m.sizes}},
        )
    )
    rows.append(
        Row(
            "index_build_s",
            f"index build after bulk load + bulk publish, {_n(large.n)}",
            "one-off",
            large.built.index_s + m.publish_index_s,
            "s",
            f"{large.built.index_s:.1f}s drafts + {m.publish_index_s:.1f}s live",
            detail={"drafts_s": large.built.index_s, "live_s": m.publish_index_s},
        )
    )
    return rows


def http_rows(m: Measured) -> list[Row]:
    if m.http is None:
        return []
    h = m.http
    store = _rate(m.sizes[-1].median_ms("store"))
    landed = h.checked - len(h.missing)
    return [
        Row(
            "http_saves_per_s",
            f"saves over HTTP, 2 workers, {h.clients} clients",
            ">= 100/s, all in git",
            h.per_second,
            "saves/s",
            f"{h.per_second:.0f}/s; {landed}/{h.checked} in rev-list",
            store,
            f"store, 1 process: {store:.0f}/s",
            h.per_second / store if store else None,
            _x(h.per_second / store) if store else "-",
            h.per_second >= 100 and not h.missing and h.checked == h.acknowledged,
            {
                "creates": h.creates,
                "updates": h.updates,
                "failures": h.failures,
                "latency_ms": h.latency_ms,
                "elapsed_s": h.elapsed_s,
            },
        )
    ]


def _paired(runs: list[WrkRun], mode: str) -> dict[str, float]:
    """Medians of req/s and CPU ms per request for both servers, and the median of the
    per-round cms/bare ratios (runs in one round are back to back, so drift cancels)."""
    picked = [r for r in runs if r.mode == mode]
    out = {}
    for server in ("cms", "bare"):
        mine = [r for r in picked if r.server == server]
        out[f"{server}_rps"] = median([r.requests_per_s for r in mine])
        out[f"{server}_cpu_ms"] = median([r.cpu_ms_per_request for r in mine])
    rounds = sorted({r.round for r in picked})
    ratios = []
    for round_ in rounds:
        pair = {r.server: r.requests_per_s for r in picked if r.round == round_}
        if pair.get("bare"):
            ratios.append(pair["cms"] / pair["bare"])
    out["ratio"] = median(ratios)
    out["cpu_ratio"] = out["bare_cpu_ms"] / out["cms_cpu_ms"] if out["cms_cpu_ms"] else 0.0
    out["errors"] = sum(r.errors for r in picked)
    return out


def read_rows(m: Measured, n: int) -> list[Row]:
    if not m.wrk:
        return []
    rows = []
    for mode, target in (("cached", ">= 0.7x bare"), ("uncached", "info: vs bare")):
        p = _paired(m.wrk, mode)
        label = (
            "GET article, 2 workers, wrk -c16 (cached)"
            if mode == "cached"
            else "GET article, rotating slugs, ?nocache=N (ignored: cached after 1st)"
        )
        errors = f", {p['errors']} errors" if p["errors"] else ""
        rows.append(
            Row(
                f"get_article_{mode}_rps",
                label,
                target,
                p["cms_rps"],
                "req/s",
                f"{p['cms_rps']:.0f} req/s, {p['cms_cpu_ms']:.2f} ms CPU/req{errors}",
                p["bare_rps"],
                f"bare Flask {p['bare_rps']:.0f} req/s, {p['bare_cpu_ms']:.2f} ms CPU/req",
                p["ratio"],
                f"{p['ratio']:.2f}x (CPU: {p['cpu_ratio']:.2f}x)",
                (p["ratio"] >= 0.7 and not p["errors"]) if mode == "cached" else None,
                {**p, "runs": [asdict(r) for r in m.wrk if r.mode == mode]},
            )
        )
    cms_list, bare_list = m.lists["cms"], m.lists["bare"]
    p99, base = cms_list.ms["p99"], bare_list.ms["p99"]
    rows.append(
        Row(
            "list_p99_ms",
            f"GET articles?tag=&page=, {_n(n)} published",
            "p99 <= 20 ms",
            p99,
            "ms",
            f"p99 {p99:.1f} ms (p50 {cms_list.ms['median']:.1f}, p95 {cms_list.ms['p95']:.1f})",
            base,
            f"bare Flask p99 {base:.1f} ms",
            p99 / base,
            f"{p99 / base:.1f}x",
            p99 <= 20 and cms_list.errors == 0,
            {"cms": cms_list.to_json(), "bare": bare_list.to_json()},
        )
    )
    start, base_start = median(m.startup_s["cms"]), median(m.startup_s["bare"])
    rows.append(
        Row(
            "startup_s",
            f"start-up to first article, {_n(n)} published",
            "<= 5 s",
            start,
            "s",
            f"{start:.2f} s",
            base_start,
            f"bare Flask {base_start:.2f} s",
            start / base_start,
            f"{start / base_start:.1f}x",
            start <= 5,
            {"samples": m.startup_s},
        )
    )
    rss, base_rss = max(m.memory_mb["cms"]), max(m.memory_mb["bare"])
    rows.append(
        Row(
            "worker_rss_mb",
            f"memory per worker, {_n(n)} published",
            "<= 300 MB",
            rss,
            "MB",
            f"{rss:.0f} MB max of {len(m.memory_mb['cms'])}",
            base_rss,
            f"bare Flask {base_rss:.0f} MB",
            rss / base_rss,
            f"{rss / base_rss:.1f}x",
            rss <= 300,
            {"workers": m.memory_mb},
        )
    )
    return rows


def history_rows(m: Measured) -> list[Row]:
    h = m.history
    if not h:
        return []
    http, store = h["http"]["ms"], h["store"]["ms"]
    log, graph = h["git_log"]["ms"]["median"], h["git_log_commit_graph"]["ms"]["median"]
    where = f"{_n(h['articles'])} articles, {_n(h['commits_on_main'])} commits"
    return [
        Row(
            "revisions_http_ms",
            f"revisions over HTTP, {where}",
            "<= 100 ms",
            http["median"],
            "ms",
            f"median {http['median']:.1f} ms (first {h['http']['first_ms']:.0f}, max "
            f"{http['max']:.0f}; {h['http']['total']} revisions)",
            log,
            f"git log -- path {log:.0f} ms; commit-graph {graph:.0f} ms",
            http["median"] / log,
            f"{http['median'] / log:.4f}x log, {http['median'] / graph:.3f}x graph",
            http["median"] <= 100,
            h,
        ),
        Row(
            "revisions_store_ms",
            "revisions in-process, store.revisions()",
            "info",
            store["median"],
            "ms",
            f"median {store['median']:.1f} ms",
            graph,
            f"git log, commit-graph {graph:.0f} ms",
            store["median"] / graph,
            f"{store['median'] / graph:.3f}x",
        ),
        Row(
            "index_catch_up_s",
            f"index catch-up after {_n(m.settings.history_commits)} commits",
            "one-off",
            h["index_catch_up_s"],
            "s",
            f"{h['index_catch_up_s']:.1f} s",
            detail={"fast_import_s": h["fast_import_s"]},
        ),
    ]


def build(m: Measured) -> list[Row]:
    n = m.published or m.settings.largest
    rows = (
        save_rows(m)
        + http_rows(m)
        + read_rows(m, n)
        + history_rows(m)
        + migration.rows(m.migration)
        + long_search.rows(m.migration)
        + webhooks.rows(m.webhooks)
        + gate.rows(m.gate)
        + replication.rows(m.replication)
        + readscale.rows(m.readscale)
        + media.rows(m.media)
        + merges.rows(m.merges)
        + edge.rows(m.edge)
        + workbench.rows(m.workbench)
        + translations.rows(m.translations)
        + bulk.rows(m.bulk)
        + durable.rows(m.durable)
    )
    order = [
        "store_saves_per_s",
        "save_cost_growth",
        "http_saves_per_s",
        "webhook_saves_ratio",
        "webhook_drip_latency_ratio",
        "get_article_cached_rps",
        "get_article_uncached_rps",
        "list_p99_ms",
        "revisions_http_ms",
        "revisions_store_ms",
        "startup_s",
        "worker_rss_mb",
        "index_build_s",
        "index_catch_up_s",
        "search_relevance_p99_ms",
        "search_long_p99_ms",
        "import_s",
        "import_peak_rss_mb",
        "gate_push_commits_s",
        "gate_push_files_s",
        *replication.ROWS,
        *readscale.ROWS,
        "media_rendition_p99_ms",
        "media_upload_5mb_ms",
        "decap_media_answer_bytes",
        "merged_save_cost",
        "merge_writers_lost",
        "merge_writers_http_lost",
        *edge.ROWS,
        *workbench.ROWS,
        "translations_article_p99_ratio",
        "translations_fallback_p99_ratio",
        "translations_save_ms",
        *bulk.ROWS,
        *durable.ROWS,
    ]
    return sorted(rows, key=lambda r: order.index(r.name))
