"""The staff roles: admin (everything), operator (runs campaigns), trainer (sees everything,
changes nothing). Apart from the account rules so the command line can offer them as choices
without loading those (argon2, the database)."""

ROLES = ("admin", "operator", "trainer")
EDITORS = ("admin", "operator")  # the roles that may change things


def role_name(role: str) -> str:
    """The role in the words of the console's navigation, in the reader's language."""
    from miniapp_api.i18n import _

    return {"admin": _("管理员"), "operator": _("运营"), "trainer": _("培训师")}[role]
