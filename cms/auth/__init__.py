"""Who may do what: API tokens and workbench sessions, kept in the private state folder of the
git directory, never in the history.

Imports the foundations, `cms.content` and `cms.git`; never the store or HTTP."""
