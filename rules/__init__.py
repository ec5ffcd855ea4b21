"""Cadre Companion's policy, pure and free of I/O: plan and roster schemas, tiers, desired state, hours.

Functions take text or bytes and a file name (for messages) and return frozen dataclasses, so the
service, the CLI and the tests share one reading of the policy:

- ``rules.roster.load_roster`` and ``rules.plan.load_plan`` read HR's roster and the organisation
  department's plan, raising ``rules.problems.InputError`` with every problem at once (``read_plan``
  says what could be read of a plan with errors, for checking only);
- ``rules.plan_roster.check_plan_against_roster`` checks what only the year's roster can tell, and
  ``load_plan_and_roster`` reads both files with every problem of the two at once;
- ``rules.tiers`` places each cadre in a tier and a class, and ``explain`` says why;
- ``rules.desired_state.desired_state`` says what Moodle must hold for the year (``rules.desired``).
"""
