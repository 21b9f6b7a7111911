"""The article as a value: the stored document and its block types, canonical bytes, where
an article lives in the tree, commit messages, identities, text and field diffs.

Imports only the foundations (`cms.errors`, `cms.settings`, `cms.times`): no git, no index,
no HTTP."""
