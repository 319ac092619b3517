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
    # One extra row tells if there is a next page (query.paginate() would also move the
    # offset by the extra row and skip rows from page 2 on).
    rows = list(query.limit(per_page + 1).offset((number - 1) * per_page))
    return Page(rows[:per_page], number, len(rows) > per_page)
