"""git without a working tree: objects, refs moved by compare-and-swap, packs, raw commits,
the repository, signing and remotes.

Imports the foundations and `cms.content` (for the branch names and identities): never the
index, the store or HTTP."""
