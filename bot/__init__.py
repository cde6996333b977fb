"""The assembled leadbot application and its faces: the `leadbot` command and the launcher."""
