"""The fake's web-service functions and site actions, one module per Moodle component.

Importing this package registers them all (see ``registry``).
"""

from importlib import import_module
from pkgutil import iter_modules

for _module in iter_modules(__path__):
    import_module(f"{__name__}.{_module.name}")
