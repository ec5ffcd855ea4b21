"""The platform pieces that keep the service running in production, apart from its domains: the code's
version (``version``), schema upgrades that wait for running jobs (``upgrades``), readiness checks
(``health``), the Prometheus metrics (``metrics``) and the Moodle call counts behind them
(``moodle_calls``), and backups of the database and documents (``backup``, ``rows``)."""
