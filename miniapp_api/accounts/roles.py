"""The staff roles: admin (everything), operator (runs campaigns), trainer (sees everything,
changes nothing). Apart from the account rules so the command line can offer them as choices
without loading those (argon2, the database)."""

ROLES = ("admin", "operator", "trainer")
EDITORS = ("admin", "operator")  # the roles that may change things
