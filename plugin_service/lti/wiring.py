"""The tool bound to the app: its views attached to the ``lti`` blueprint, which is then registered.

Its requests prove who they are with their own tokens (a launch's, then the page token), so the console's
sign-in gate lets them through, and they are exempt from the console's CSRF check, which rests on a
session cookie an iframe may not have: a page's forms carry the page token, which no other site can
know.
"""

from __future__ import annotations

from flask import Flask

from ..web.access import self_authenticated
from ..web.extensions import csrf
from . import blueprint, claim_pages, pages, protocol

#: The modules whose views are on the blueprint: imported (so attached) before it is registered.
VIEW_MODULES = (protocol, pages, claim_pages)


def init_lti(app: Flask) -> None:
    self_authenticated(blueprint.name)
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
