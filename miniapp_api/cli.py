"""Entry point of the `qunbook` console script."""

import sys

from flask.cli import FlaskGroup

from . import create_app
from .db import ImproperlyConfigured

cli = FlaskGroup(create_app=create_app, help="Qunbook: live codes, posters and the handbook.")


def main():
    try:
        cli.main(prog_name="qunbook")
    except ImproperlyConfigured as error:
        sys.exit(f"qunbook: {error}")
