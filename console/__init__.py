"""The HTML console for staff in a browser: views, forms and template tags only."""
