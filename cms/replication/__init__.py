"""git to git: mirrors the server pushes to, the pusher, read replicas and their fetcher, and
the leader lock that runs each background job in one process.

Imports the foundations, `cms.content`, `cms.git` and `cms.store`; never Flask."""
