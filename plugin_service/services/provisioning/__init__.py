"""Provisioning (开班): making Moodle hold the year a plan and roster describe, and checking first that
the site can.

- ``provision``: check the inputs, compute the change set, apply it, remember it (the entry point);
- ``moodle_state``: what the year looks like in Moodle now; ``changeset``: the ordered operations from
  there to the plan; ``apply``: carrying them out, batched, journaled and audited;
- ``namespace``: the prefix in front of every key the companion writes to Moodle;
- ``stored``: the plans and rosters as stored, which the scheduled and queued jobs work from;
- ``console_inputs``: a plan and roster uploaded in the console, checked, diffed and applied as jobs;
- ``doctor``: ``cadre doctor``, whether the Moodle site gives the token what the product needs. It lives
  here rather than among the platform pieces because it is about the Moodle site, not the service's own
  processes: it is the check an admin runs before the first apply, and its probes catch the missing
  capabilities that would make provisioning create duplicates.

The package imports nothing itself: import the module you need.
"""
