"""Cadre Companion's policy, pure and free of I/O: plan and roster schemas, tiers, desired state, hours."""
