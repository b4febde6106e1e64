"""The console's only tables: its features' (console.exports' jobs)."""
from console.exports.models import ExportJob  # noqa: F401
