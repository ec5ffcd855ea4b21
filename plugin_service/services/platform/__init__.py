"""The platform pieces that keep the service running, apart from its domains.

- ``jobs``: the runs of every kind and the Celery tasks the console queued, by task name, with their
  live state; ``locks``: the locks that keep two runs of one job from overlapping;
- ``audit_log``: the audit log as the console filters it;
- ``site_settings``: the Moodle connection as set in the console (the token stored encrypted);
- ``api_tokens``: the JSON API's tokens; ``console_users``: who may sign in to the console, and over
  which cadres;
- ``version``: the code's version; ``upgrades``: schema upgrades that wait for running jobs;
- ``health``: the readiness checks; ``metrics``: the Prometheus metrics, and ``moodle_calls``: the Moodle
  call counts behind them;
- ``backup``, ``rows``: backups of the database and documents.

The package imports nothing itself: import the module you need.
"""
