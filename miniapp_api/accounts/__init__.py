"""Staff accounts: roles, passwords, login throttling, API tokens and the audit log."""
