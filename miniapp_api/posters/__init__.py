"""Posters: channel posters of a campaign's live code and members' personal posters, drawn
from layouts kept as data in assets/posters/."""
