"""A tiny SCORM 1.2 package built in memory, and SCORM 1.2 time spans, for what a real Moodle is given to
study: the live SCORM test and the contract recorder upload it through Moodle's activity form.

The package holds a manifest and one HTML SCO that reports to the SCORM 1.2 API of the player opening
it (its status on opening, the session's time when the page is left), so Moodle's own player tracks it as
it tracks any courseware. The time spans are read and added here independently of the product's code.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="{identifier}" version="1.0"
          xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
          xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
          xsi:schemaLocation="http://www.imsproject.org/xsd/imscp_rootv1p1p2 imscp_rootv1p1p2.xsd
                              http://www.adlnet.org/xsd/adlcp_rootv1p2 adlcp_rootv1p2.xsd">
  <metadata>
    <schema>ADL SCORM</schema>
    <schemaversion>1.2</schemaversion>
  </metadata>
  <organizations default="{organization}">
    <organization identifier="{organization}">
      <title>{title}</title>
      <item identifier="{item}" identifierref="{resource}" isvisible="true">
        <title>{title}</title>
      </item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="{resource}" type="webcontent" adlcp:scormtype="sco" href="{launch}">
      <file href="{launch}"/>
    </resource>
  </resources>
</manifest>
"""
#: The manifest's identifiers besides the package's own: its organisation, its one item (the SCO Moodle
#: lists) and the resource the item opens.
ORGANIZATION, ITEM, RESOURCE, LAUNCH = "organisation", "lesson", "lesson-sco", "index.html"

# A SCO that reports to the SCORM 1.2 API of the player that opens it: its status on opening, and the
# session's time when the page is left.
SCO = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<script>
var api = null, started = new Date();
function findApi(win) {{
  for (var depth = 0; win && depth < 10; depth++) {{
    if (win.API) {{ return win.API; }}
    if (win.parent === win) {{ break; }}
    win = win.parent;
  }}
  return (window.opener && window.opener.API) || null;
}}
function pad(n) {{ return (n < 10 ? "0" : "") + n; }}
function spent() {{
  var s = Math.floor((new Date() - started) / 1000);
  return pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
}}
window.onload = function () {{
  api = findApi(window);
  if (api) {{ api.LMSInitialize(""); api.LMSSetValue("cmi.core.lesson_status", "incomplete"); }}
}};
window.onbeforeunload = function () {{
  if (api) {{
    api.LMSSetValue("cmi.core.session_time", spent());
    api.LMSSetValue("cmi.core.lesson_status", "completed");
    api.LMSCommit(""); api.LMSFinish("");
  }}
}};
</script>
</head>
<body><h1>{title}</h1><p>学习新时代党的创新理论。</p></body>
</html>
"""

_SCORM12_TIME = re.compile(r"^(\d+):(\d{2}):(\d{2})(?:\.(\d{1,2}))?$")


def scorm_package(identifier: str, title: str) -> bytes:
    """A SCORM 1.2 package with one SCO, zipped in memory: manifest ``identifier``, the organisation
    and the SCO titled ``title``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        manifest = MANIFEST.format(identifier=escape(identifier), title=escape(title),
                                   organization=ORGANIZATION, item=ITEM, resource=RESOURCE, launch=LAUNCH)
        package.writestr("imsmanifest.xml", manifest)
        package.writestr(LAUNCH, SCO.format(title=escape(title)))
    return buffer.getvalue()


def hundredths(value: str) -> int:
    """A SCORM 1.2 time span (``HHHH:MM:SS.SS``) in hundredths of a second."""
    found = _SCORM12_TIME.match(value.strip())
    if found is None:
        raise ValueError(f"{value!r} is not a SCORM 1.2 time span")
    hours, minutes, seconds, fraction = found.groups()
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 100 + int((fraction or "0").ljust(2, "0"))


def time_span(cents: int) -> str:
    """Hundredths of a second as a SCORM 1.2 time span, the hundredths written only when there are some
    (as Moodle's SCORM 1.2 player writes a total)."""
    hours, rest = divmod(cents, 360000)
    minutes, rest = divmod(rest, 6000)
    seconds, rest = divmod(rest, 100)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{text}.{rest:02d}" if rest else text
