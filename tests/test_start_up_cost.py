"""What a process pays before it answers: building an app loads no summarizer (sumy, NLTK and
numpy are loaded by the first summary made)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import article

SUMMARIZER = ("numpy", "sumy", "nltk", "pysbd")
ARTICLE = article(
    title="Sea wall",
    body=[
        {"type": "paragraph", "text": "The sea wall was raised by a metre this spring."},
        {"type": "paragraph", "text": "Storms had flooded the harbour twice in one winter."},
        {"type": "paragraph", "text": "The harbour master said the wall would hold."},
    ],
)


def run(code: str, repo: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, str(repo)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_building_an_app_loads_no_summarizer_until_a_summary_is_made(repo: Path) -> None:
    code = f"""
import sys
from cms.web import create_app
app = create_app({{"REPO": sys.argv[1], "TESTING": True}})
client = app.test_client()
assert client.get("/api/v1/articles").status_code == 200
heavy = {SUMMARIZER!r}
print(sorted(m for m in heavy if m in sys.modules))
from cms.delivery.summary import summarize
article = {ARTICLE!r}
print(summarize(article, sentences=1))
print(sorted(m for m in heavy if m in sys.modules))
"""
    before, summary, after = run(code, repo).splitlines()
    assert before == "[]"
    assert summary.endswith(".") and "wall" in summary
    assert after == str(sorted(SUMMARIZER))
