"""The demo content `cms init --demo` creates: its articles and pictures.

Imports the store and media; nothing imports it but the CLI."""
