"""pytest settings for the whole course."""

# Notebooks under tests/ are fixtures (wrong or hostile submissions), not lessons.
collect_ignore_glob = ["tests/**/*.ipynb"]
