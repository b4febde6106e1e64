"""Badges: a value as a coloured label (console.css maps each tone to its colours). Used by the
templates (`{% badge %}`) and by the students list's rows (console.students.rows)."""
from django.utils.html import format_html

# value -> (readable text, tone); tones map to colours in console.css.
BADGES = {
    "status": {
        "active": ("Active", "good"),
        "inactive": ("Inactive", "muted"),
    },
    "session": {
        "in_progress": ("In progress", "info"),
        "ended": ("Ended", "neutral"),
        "abandoned": ("Abandoned", "muted"),
    },
    "transcript": {
        "available": ("Transcript available", "good"),
        "partial": ("Transcript partial", "warn"),
        "processing": ("Transcript processing", "info"),
        "missing": ("Transcript missing", "muted"),
        "failed": ("Transcript failed", "bad"),
    },
    "grading": {
        "complete": ("Graded", "good"),
        "pending": ("Grading pending", "warn"),
        "failed": ("Grading failed", "bad"),
    },
}


def badge(kind, value):
    text, tone = BADGES.get(kind, {}).get(value, (str(value).replace("_", " ").capitalize(), "neutral"))
    return format_html('<span class="badge badge-{}">{}</span>', tone, text)
