"""The staff console: its pages (views/) and the figures they show (stats, attention, charts)."""
