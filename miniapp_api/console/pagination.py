"""One pagination helper for every console list."""

from dataclasses import dataclass

PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def paginate(query, page_arg: str | None, per_page: int = PER_PAGE) -> Page:
    """One page of `query`; a bad or missing page number means the first page."""
    number = int(page_arg) if page_arg and page_arg.isdigit() and 0 < int(page_arg) < 10**6 else 1
    rows = list(query.paginate(number, per_page + 1))  # one extra row tells if there is more
    return Page(rows[:per_page], number, len(rows) > per_page)
