"""What may be in the repository: the rules a file and a commit must meet, the `pre-receive`
gate that applies them to pushes, and `cms check`.

Imports `cms.content`, `cms.git` and `cms.media` (for files under media/); never the index,
the store or HTTP."""
