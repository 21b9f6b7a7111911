"""What the public and the preview see: the published line shaped for reading, public cards,
summaries, feeds and sitemaps, sync tokens, previews, and the background work that keeps
them ready.

Imports everything below it (content, git, index, store, media); never Flask."""
