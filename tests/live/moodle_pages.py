"""Moodle's own pages in a real browser, for what the live tests must do by hand as people do: sign in,
register an LTI Advantage tool by dynamic registration and activate it, add an External tool activity,
add a SCORM package by uploading it through the activity form's file picker.

Debian's Chromium through Playwright's sync API (``tests.browser.live``), never a browser Playwright
downloads. The pages are driven by the ids and classes Moodle's templates give them, which Moodle 4.5
and 5.1 share; where a step cannot be done, the error names the page and what it showed instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # the tests that drive pages skip, saying so (``tests.browser.live.missing_browser``)
    PlaywrightError = Exception  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Frame, Page, Response

#: Moodle's slowest pages (course creation, a package unpacked) on a loopback site under load.
PAGE_TIMEOUT_MS = 90_000


class MoodlePageError(AssertionError):
    """A step on Moodle's pages did not lead where it should; says which page and what it showed."""


@dataclass(frozen=True)
class Tool:
    """An LTI tool type as the site lists it after registration."""

    id: int
    name: str
    client_id: str


def session(browser: Browser, *, locale: str = "en-GB", height: int = 900) -> BrowserContext:
    """A fresh browser profile: nobody signed in, cookies of its own; a window 1280 pixels wide and
    ``height`` high (Moodle sizes an embedded tool's frame to the window)."""
    context = browser.new_context(viewport={"width": 1280, "height": height}, locale=locale)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    return context


def _shown(page: Page) -> str:
    """What a page says, for an error message: its URL and the start of its main text."""
    try:
        text = page.locator("#region-main, main, body").first.inner_text(timeout=5_000)
    except PlaywrightError:
        text = ""  # only for the message
    return f"{page.url}: {' '.join(text.split())[:400]!r}"


def sign_in(context: BrowserContext, moodle_url: str, username: str, password: str, *, attempts: int = 3
            ) -> Page:
    """Signs in through Moodle's login form; the page is then on the user's dashboard (or wherever
    Moodle sends them). A refused login or a page asking for a new password is an error.

    The form carries a login token kept in the session; a form sent before the server has stored the
    session that made it (a browser is faster than a person, and a multi-process server may serve the
    post before the page's process has finished writing) is refused as an invalid login, so a refusal is
    tried again with a fresh form."""
    page = context.new_page()
    for attempt in range(attempts):
        page.goto(f"{moodle_url}/login/index.php")
        settled(page)
        page.fill("#username", username)
        page.fill("#password", password)
        with page.expect_navigation():
            page.click("#loginbtn")
        page.wait_for_load_state("load")
        path = urlsplit(page.url).path
        if path.endswith("/login/change_password.php") or path.endswith("/user/policy.php"):
            raise MoodlePageError(f"Moodle asks {username!r} for something before any page: {_shown(page)}")
        if not path.endswith("/login/index.php"):
            return page
        if attempt + 1 < attempts:
            page.wait_for_timeout(1_000 * (attempt + 1))
    raise MoodlePageError(f"Moodle refused the login of {username!r} {attempts} times: {_shown(page)}")


def sesskey(page: Page) -> str:
    """The session key of the signed-in user (``M.cfg.sesskey``), which Moodle's forms carry."""
    key = page.evaluate("() => (window.M && M.cfg && M.cfg.sesskey) || ''")
    if not key:
        raise MoodlePageError(f"no session key on {page.url}: not a signed-in Moodle page")
    return str(key)


# -- LTI Advantage: dynamic registration -----------------------------------------------------------


def _tool_ids(page: Page) -> set[int]:
    """The tool types Manage tools lists, by id."""
    cards = page.locator(".tool-card[data-type-id]").all()
    found = (card.get_attribute("data-type-id") or "" for card in cards)
    return {int(value) for value in found if value.isdigit()}


def settled(page: Page) -> None:
    """Waits until Moodle's own scripts have nothing pending (``M.util.pending_js``, which Moodle keeps for
    every AJAX call and template it renders)."""
    page.wait_for_function("() => !!(window.M && M.util && M.util.pending_js) && !M.util.pending_js.length")


def _wait_tool_list(page: Page) -> None:
    """Manage tools loads its list by AJAX: wait until it is in."""
    settled(page)
    page.wait_for_function("() => !document.querySelector('#tool-list-container.loading')")


def register_lti_tool(page: Page, moodle_url: str, registration_url: str, *, timeout_s: float = 90) -> Tool:
    """As a site admin on Manage tools (Site administration > Plugins > Activity modules > External tool >
    Manage tools): pastes the tool's registration URL into "Tool URL", clicks "Add LTI Advantage", lets
    the tool's page register in Moodle's frame (where Moodle first offers to update a tool of the same
    domain, it registers a new one instead), then activates the pending tool. Returns the new tool."""
    page.goto(f"{moodle_url}/mod/lti/toolconfigure.php")
    if page.locator("#tool-url").count() == 0:
        raise MoodlePageError(f"Manage tools shows no Tool URL field: {_shown(page)}")
    _wait_tool_list(page)
    before = _tool_ids(page)
    page.fill("#tool-url", registration_url)
    page.click("#tool-create-button")
    deadline_ms = int(timeout_s * 1000)
    answers: list[str] = []

    def tool_answered(response: Response) -> None:
        if response.url.startswith(registration_url):
            try:
                body = " ".join(response.text().split())
            except PlaywrightError:
                body = ""
            answers.append(f"HTTP {response.status}: {re.sub(r'<[^>]+>', ' ', body)[:400]}")

    page.on("response", tool_answered)
    _registration_frame(page, deadline_ms)
    try:
        page.wait_for_function(
            "(before) => [...document.querySelectorAll('.tool-card[data-type-id]')]"
            ".some(card => !before.includes(card.dataset.typeId))", arg=[str(i) for i in before],
            timeout=deadline_ms)
    except PlaywrightError as exc:
        raise MoodlePageError(f"no new tool appeared on Manage tools after the registration; the tool's "
                              f"registration page answered {answers!r}; the page: {_shown(page)}") from exc
    finally:
        page.remove_listener("response", tool_answered)
    type_id = max(_tool_ids(page) - before)
    card = page.locator(f".tool-card[data-type-id='{type_id}']")
    name = " ".join(card.locator("h4.name").inner_text().split())
    client_id = card.get_attribute("data-clientid") or ""
    activate = card.locator(".tool-card-footer a.activate")
    if activate.count() == 0:
        shown = " ".join(card.inner_text().split())
        raise MoodlePageError(f"the new tool {type_id} has no Activate button: {shown!r}")
    activate.click()
    agree = card.locator(".capabilities-container button.yes")
    try:
        agree.wait_for(state="visible", timeout=3_000)
        agree.click()
    except PlaywrightError:
        pass  # no capabilities to agree to: activated at once
    page.locator(f".tool-card[data-type-id='{type_id}'] .tool-card-footer a.activate").wait_for(
        state="detached", timeout=deadline_ms)
    return Tool(type_id, name, client_id)


def _registration_frame(page: Page, timeout_ms: int) -> None:
    """Where Moodle first asks whether to update a tool of the same domain (its page in the frame offers
    a button per tool and one for a new tool), registers a new tool."""
    iframe = page.locator("#external-registration-template-container iframe")
    try:
        iframe.wait_for(state="attached", timeout=timeout_ms)
        handle = iframe.element_handle(timeout=5_000)
        frame = handle.content_frame() if handle is not None else None
        if frame is None:
            return
        frame.wait_for_load_state("load", timeout=timeout_ms)
        if "startltiadvregistration.php" in frame.url:
            new = frame.locator("button[data-href$='type=0']")
            if new.count():
                new.click()
    except PlaywrightError:
        return  # the registration finished (Moodle closed its frame) before it could be looked at


# -- activities ------------------------------------------------------------------------------------


def _cmid_after_save(page: Page, what: str) -> int:
    """Saves the module form with "Save and display" and reads the new activity's id from the page
    Moodle then shows (``view.php?id=``)."""
    submit = page.locator("#id_submitbutton")
    if submit.count() == 0:
        raise MoodlePageError(f"the {what} form has no Save and display button: {_shown(page)}")
    with page.expect_navigation():
        submit.click()
    page.wait_for_load_state("load")
    parts = urlsplit(page.url)
    found = parse_qs(parts.query).get("id", [""])[0]
    if not parts.path.endswith("/view.php") or not found.isdigit():
        errors = page.locator(".invalid-feedback:visible, .error:visible, .alert-danger:visible"
                              ).all_inner_texts()
        raise MoodlePageError(f"saving the {what} did not open it: errors {errors!r}; {_shown(page)}")
    return int(found)


def add_lti_activity(page: Page, moodle_url: str, courseid: int, tool: Tool | int, name: str, *,
                     section: int = 0, accept_grades: bool = True) -> int:
    """As a teacher or admin: adds an External tool activity using the site's tool ``tool`` to the
    course (section ``section``), named ``name``; returns its course module id.

    Since Moodle 4.3 an External tool activity is added from a preconfigured tool chosen in the activity
    chooser, which opens the form for that tool (``typeid``); the form has no tool select any more. A
    tool registered dynamically with the gradebook scopes leaves "Accept grades from the tool" to each
    activity, unticked: ``accept_grades`` ticks it (the column's grade stays the form's default)."""
    typeid = tool.id if isinstance(tool, Tool) else tool
    query = urlencode({"add": "lti", "course": courseid, "section": section, "typeid": typeid, "return": 0})
    page.goto(f"{moodle_url}/course/modedit.php?{query}")
    if page.locator("#id_name").count() == 0:
        raise MoodlePageError(f"the External tool form did not open for tool {typeid}: {_shown(page)}")
    page.fill("#id_name", name)
    if accept_grades:
        accept = page.locator("#id_instructorchoiceacceptgrades")
        if accept.count() == 0:
            raise MoodlePageError(f"the External tool form of tool {typeid} has no \"Accept grades from the "
                                  f"tool\" (the tool does not ask for the gradebook): {_shown(page)}")
        expand(page, "id_modstandardgrade")
        accept.check()
    return _cmid_after_save(page, "External tool activity")


def expand(page: Page, fieldset_id: str) -> None:
    """Opens a collapsed section of a Moodle form (its header's toggle)."""
    toggle = page.locator(f"#{fieldset_id} [data-bs-toggle='collapse'], "  # Bootstrap 5 (Moodle 5), 4 (4.5)
                          f"#{fieldset_id} [data-toggle='collapse']")
    if toggle.count() and toggle.first.get_attribute("aria-expanded") != "true":
        toggle.first.click()
        page.locator(f"#{fieldset_id}container").wait_for(state="visible")


def add_scorm_activity(page: Page, moodle_url: str, courseid: int, package: bytes, filename: str,
                       name: str, *, section: int = 0) -> int:
    """As a teacher or admin: adds a SCORM package activity to the course, uploading ``package`` (a zip)
    through the form's file picker ("Add..." > "Upload a file" > "Upload this file"); returns its course
    module id."""
    query = urlencode({"add": "scorm", "course": courseid, "section": section, "return": 0})
    page.goto(f"{moodle_url}/course/modedit.php?{query}")
    if page.locator("#id_name").count() == 0:
        raise MoodlePageError(f"the SCORM package form did not open: {_shown(page)}")
    page.fill("#id_name", name)
    manager = page.locator("#fitem_id_packagefile")
    manager.locator("div.fp-btn-add a, input.fp-btn-choose").first.click()
    picker = page.locator(".moodle-dialogue:visible .file-picker").first
    picker.wait_for(state="visible")
    settled(page)
    # The upload repository, known by its icon whatever the admin's language.
    upload = picker.locator(".fp-repo-area .fp-repo", has=page.locator("img[src*='repository_upload']"))
    if upload.count() == 0:
        raise MoodlePageError("the file picker lists no \"Upload a file\" repository (Site administration > "
                              f"Plugins > Repositories: enable it): {_shown(page)}")
    upload.first.locator("a").first.click()
    picker.locator(".fp-upload-form input[type=file]").set_input_files(
        {"name": filename, "mimeType": "application/zip", "buffer": package})
    picker.locator(".fp-upload-btn").click()
    listed = manager.locator(".fp-content .fp-file, .fp-content .fp-filename", has_text=filename)
    try:
        listed.first.wait_for(state="attached")
    except PlaywrightError as exc:
        said = page.locator(".moodle-dialogue:visible .fp-msg, "
                            ".moodle-dialogue:visible .moodle-exception-message").all_inner_texts()
        raise MoodlePageError(f"the upload of {filename} did not reach the form: {said!r}; "
                              f"{_shown(page)}") from exc
    return _cmid_after_save(page, "SCORM package activity")


# -- an activity as a user opens it ----------------------------------------------------------------


def open_lti_activity(page: Page, moodle_url: str, cmid: int) -> Frame:
    """Opens the External tool activity as the signed-in user, as they would from the course; returns
    the frame the tool is shown in (the page itself when Moodle opened it in the window)."""
    page.goto(f"{moodle_url}/mod/lti/view.php?id={cmid}")
    frame_element = page.locator("iframe#contentframe")
    if frame_element.count():
        handle = frame_element.element_handle()
        frame = handle.content_frame() if handle is not None else None
        if frame is None:
            raise MoodlePageError(f"the tool's frame on {page.url} has no content")
        return frame
    return page.main_frame
