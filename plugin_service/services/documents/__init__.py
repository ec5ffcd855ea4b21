"""Documents and certificates: what the service hands out, printed from the learning records.

- ``certificates``: certificates of study hours (学时证明书) as records: issuing, re-issuing, revoking;
  ``certificate_views``: what an admin and the public verification page see of one; ``serials``: their
  serials;
- ``archives``: learning archives (学习档案) and registration forms (在线学习情况登记表) in batches;
- ``document_values``: the plain values every document prints; ``document_batches``: a batch's row,
  its files written atomically, and its ZIP;
- ``exports``: tables as XLSX and CSV, and the year's reports as tables;
- the renderer: ``render`` (PDF from a template folder) over ``engine``, ``sandbox``, ``templates``,
  ``filters``, ``fonts`` and ``qrcode``.

Import ``plugin_service.services.documents.render`` where a PDF is needed: it loads the layout engine,
which is heavy, so this package itself imports nothing.
"""
