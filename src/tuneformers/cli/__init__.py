"""The `tuneformers` command line (entry point: tuneformers.cli.main:main)."""
