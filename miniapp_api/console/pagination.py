"""One pagination helper for every console list."""

from dataclasses import dataclass

PER_PAGE = 50
MAX_PAGE = 10**6


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def paginate(query, number: int, per_page: int = PER_PAGE) -> Page:
    """Page `number` (from 1) of `query`. The views read it from ?page= (page_number in
    console/views/campaigns.py): a bad one is a 400 page there, a missing one page 1."""
    if not 1 <= number <= MAX_PAGE:
        raise ValueError(f"page must be 1–{MAX_PAGE}")
    # One extra row tells if there is a next page (query.paginate() would also move the
    # offset by the extra row and skip rows from page 2 on).
    rows = list(query.limit(per_page + 1).offset((number - 1) * per_page))
    return Page(rows[:per_page], number, len(rows) > per_page)
