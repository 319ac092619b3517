"""Web plumbing every capability shares: security headers, error pages, server-side sessions,
the request's visitor identity and the parsing of numbers in URLs and forms."""
