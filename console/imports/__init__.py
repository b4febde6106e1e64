"""The console's student import page: upload, dry-run report, apply."""
