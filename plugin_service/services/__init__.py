"""Business actions of the service: plain functions taking their collaborators as arguments, one
package per domain.

- ``provisioning``: the plan and roster made into Moodle's year, and ``cadre doctor``'s site check;
- ``harvest``: Moodle's activity read into learning records, and reading those records;
- ``engagement``: reminders, announcements, discussions, the commendation list and the survey;
- ``documents``: certificates, archives and registration forms, spreadsheets, and the PDF renderer;
- ``read_models``: what the console's pages and the JSON API read, within the reader's scope;
- ``platform``: jobs, locks, the audit log, site settings, API tokens, console users, health, metrics,
  upgrades and backups.

The web blueprints, the JSON API, the ``cadre`` commands and the Celery tasks call these; the services
never import them back (``tests/meta/test_layout.py``).
"""
