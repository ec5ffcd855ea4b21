"""Cadre Companion as an LTI 1.3 tool: the platforms it trusts, its keys, launches, who the launch's user
is in the companion's own records, and the hours it writes back to the platform's gradebook."""
