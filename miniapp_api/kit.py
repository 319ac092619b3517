"""Where the kit's files are: the poster layouts, fonts and campaign templates (assets/) and
the built handbook. An installed wheel carries them inside the package (see pyproject.toml);
a checkout keeps them at the top of the repository."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def assets() -> Path:
    shipped = PACKAGE / "assets"
    return shipped if shipped.is_dir() else CHECKOUT / "assets"


def built_handbook() -> Path:
    shipped = PACKAGE / "handbook_site"
    return shipped if shipped.is_dir() else CHECKOUT / "build" / "handbook"
