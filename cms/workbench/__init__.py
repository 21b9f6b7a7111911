"""The Decap CMS workbench: its proxy-backend actions mapped onto the store (`decap`, the
action table, answered by `entries`, `workflow`, `preview` and `media` on the shared `base`;
`files` is Decap's entry file), the actions' parameters (`params`), and its `config.yml` made
from the article schema (`config`).

Imports the store, media, delivery and auth; never Flask (the views are in `cms.web`)."""
