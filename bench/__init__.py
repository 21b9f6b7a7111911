"""The performance benchmark suite: `make bench` (full) or `make bench-quick` (CI smoke).

Run it as `python -m bench [--quick] [--tmpdir DIR] [--keep]`. It builds its content
repositories itself (bulk-loaded, not saved one by one), measures saves, reads, history and
start-up against baselines run in the same process on the same articles, prints a table,
writes `bench/results.json` and draws `bench/write-cost.png`. Modules, one job each:

- `articles`: generated articles in canonical form (50 tags, sections, bylines);
- `build`: bulk-loading a repository, bulk publishing, clones, deep history by fast-import;
- `saves`: save cost against repository size, the store beside `git` and GitPython;
- `http_saves`: saves over HTTP from concurrent clients, checked against `git rev-list`;
- `servers`: starting and stopping `cms serve` and the bare Flask baseline (`bare_app`);
- `reads`: wrk throughput, list latency percentiles, start-up time, worker memory;
- `history`: an article's revisions at depth, beside `git log -- path`;
- `report`: rows, the printed table and `results.json`; `chart`: the PNG.
"""
