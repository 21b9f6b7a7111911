"""The write-cost chart: median save time against repository size, store beside baselines."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

LABELS = {
    "store": "ArticleStore.create / replace",
    "git": "git add + git commit (subprocesses)",
    "gitpython": "GitPython index.add + index.commit",
}
STYLES = {"store": ("tab:blue", "o"), "git": ("tab:orange", "s"), "gitpython": ("tab:green", "^")}


def _size(n: float, _: object = None) -> str:
    return f"{n / 1000:g}k" if n >= 1000 else f"{n:g}"


def draw(
    path: Path,
    sizes: list[int],
    medians: dict[str, list[float]],
    subtitle: str,
    growth_target: float,
) -> None:
    """Left: median ms per save (log-log). Right: the same relative to the smallest size."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.2), layout="constrained")
    for method, values in medians.items():
        color, marker = STYLES[method]
        left.plot(sizes, values, marker=marker, color=color, label=LABELS[method])
        for n, v in zip(sizes, values, strict=True):
            label = f"{v:.2f} ms" if v < 10 else f"{v:.0f} ms"
            left.annotate(
                label, (n, v), textcoords="offset points", xytext=(6, 6), fontsize=8, color=color
            )
        right.plot(
            sizes, [v / values[0] for v in values], marker=marker, color=color, label=LABELS[method]
        )
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(sizes)
        ax.xaxis.set_major_formatter(FuncFormatter(_size))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        ax.set_xlabel("articles in the repository")
        ax.grid(True, which="major", alpha=0.3)
        ax.margins(x=0.12, y=0.12)
    left.set_yscale("log")
    left.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    left.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    left.yaxis.set_minor_formatter(NullFormatter())
    left.set_ylabel("median time per save (ms, log scale)")
    left.set_title("Cost of one save")
    left.legend(loc="upper left", fontsize=9)
    right.axhline(growth_target, color="tab:red", linestyle="--", linewidth=1)
    right.annotate(
        f"target for the store: <= {growth_target:g}x",
        (sizes[-1], growth_target),
        textcoords="offset points",
        xytext=(-4, -12),
        ha="right",
        fontsize=8,
        color="tab:red",
    )
    right.set_yscale("log")
    right.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    right.yaxis.set_minor_formatter(NullFormatter())
    right.set_ylabel(f"cost relative to {_size(sizes[0])} articles (log scale)")
    right.set_title("Growth of the save cost")
    fig.suptitle(f"Save cost against repository size — {subtitle}", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
