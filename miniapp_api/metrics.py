"""Placeholder until the shared metric definitions land."""


def stickiness(responded: int, called: int) -> float | None:
    return responded / called if called else None
