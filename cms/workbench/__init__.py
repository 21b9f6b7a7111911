"""The Decap CMS workbench: its proxy-backend actions mapped onto the store (`decap`), their
parameters (`params`), and its
`config.yml` made from the article schema.

Imports the store, media, delivery and auth; never Flask (the views are in `cms.web`)."""
