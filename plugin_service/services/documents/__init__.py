"""Documents printed from the learning records: rendering (``render``) from template folders.

Import ``plugin_service.services.documents.render`` where a PDF is needed: it loads the layout engine,
which is heavy, so this package itself imports nothing.
"""
