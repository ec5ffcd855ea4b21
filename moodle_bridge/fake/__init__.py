"""A fake Moodle web-service server: Moodle's semantics held in memory, served over real HTTP.

It knows nothing of the applications that use it: it is a Moodle. Start one with
``python -m moodle_bridge.fake --port 8765 --token TOKEN`` or in-process::

    site = stock_site(tokens={"wsbot": token})
    with serve(site, latency=fixed(20)) as fake:
        MoodleClient(fake.url, token)...

What people and cron do on a real site is offered by ``site.site_action(name, args)``.

It answers as Moodle 5.1 unless made as 4.5 (``stock_site(release="4.5")``, ``--release 4.5``; see
``releases.py``), and with contention on (``serve(..., contention=True)``, ``--contention``, or the ``moodle``
profile) a write call touching the users of another write in flight answers ``dmlwriteexception`` and
writes nothing, as PostgreSQL's deadlocks make Moodle do (``contention.py``).
"""

from .costs import FAULT_KINDS, MOODLE_PROFILE, PROFILES, Faults, Latency, fixed
from .server import FakeMoodleApp, RunningFake, serve
from .site import FakeSite
from .stock import stock_site

__all__ = [
    "FAULT_KINDS",
    "MOODLE_PROFILE",
    "PROFILES",
    "FakeMoodleApp",
    "FakeSite",
    "Faults",
    "Latency",
    "RunningFake",
    "fixed",
    "serve",
    "stock_site",
]
