"""A template folder reaches only its own files: no other files, no network, no Python internals."""

from __future__ import annotations

import datetime as dt
import decimal
import io
from pathlib import Path

import pypdf
import pytest

from plugin_service.services.documents.render import TemplateError, render_html, render_pdf
from plugin_service.services.documents.sandbox import plain

META = ("name: 测试\npaper: A4\nlanguages: {zh: index.html}\nstylesheets: [%s]\n"
        "values:\n  name: {type: text}\n")


def folder(root: Path, html: str, css: str | None = None, **files: str) -> Path:
    """A template root whose ``certificate`` folder holds ``html`` (and ``css`` as its stylesheet)."""
    kind = root / "certificate"
    kind.mkdir(parents=True)
    (kind / "meta.yaml").write_text(META % ("style.css" if css is not None else ""), "utf-8")
    (kind / "index.html").write_text(html, "utf-8")
    if css is not None:
        (kind / "style.css").write_text(css, "utf-8")
    for name, text in files.items():
        (kind / name).write_text(text, "utf-8")
    return root


def render(root: Path, name: str = "张伟") -> bytes:
    return render_pdf("certificate", {"name": name}, templates_dir=root)


def test_a_plain_template_renders_and_escapes_values(tmp_path: Path) -> None:
    root = folder(tmp_path, "<p>{{ name }}</p>", css="p { color: #333 }")
    html = render_html("certificate", {"name": "<b>张伟</b>"}, templates_dir=root)
    assert "&lt;b&gt;张伟&lt;/b&gt;" in html
    pdf = render(root)
    assert "张伟" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_including_a_file_outside_the_folder_fails(tmp_path: Path) -> None:
    root = folder(tmp_path, '{% include "../../../etc/passwd" %}')
    with pytest.raises(TemplateError, match=r"index.html line 1\): include refused: '../../../etc/passwd'"):
        render(root)


def test_including_an_absolute_path_fails(tmp_path: Path) -> None:
    root = folder(tmp_path, '{% include "/etc/passwd" %}')
    with pytest.raises(TemplateError, match="include refused: '/etc/passwd'"):
        render(root)


def test_a_symlink_leading_out_of_the_folder_fails(tmp_path: Path) -> None:
    root = folder(tmp_path / "t", '{% include "outside.html" %}')
    secret = tmp_path / "secret.html"
    secret.write_text("secret", "utf-8")
    (root / "certificate" / "outside.html").symlink_to(secret)
    with pytest.raises(TemplateError, match="leads outside the template folder"):
        render(root)
    (root / "certificate" / "index.html").write_text('<img src="picture.png">', "utf-8")
    (root / "certificate" / "picture.png").symlink_to(secret)
    with pytest.raises(TemplateError, match=r"picture\.png: the file is outside the template folder"):
        render(root)


@pytest.mark.parametrize("css", ['@import url("file:///etc/passwd");',
                                 '@import url("http://example.com/style.css");',
                                 'body { background: url("file:///etc/passwd") }'])
def test_a_stylesheet_reaching_out_fails_naming_the_url(tmp_path: Path, css: str) -> None:
    url = css.split('"')[1]
    root = folder(tmp_path, "<p>{{ name }}</p>", css=css)
    with pytest.raises(TemplateError, match=f"refused to load {url}: "):
        render(root)


@pytest.mark.parametrize("html", ['<img src="file:///etc/passwd">',
                                  '<img src="http://example.com/x.png">',
                                  '<link rel="stylesheet" href="https://example.com/x.css">',
                                  "<style>@import url('file:///etc/passwd');</style>",
                                  '<img src="../../../../etc/passwd">'])
def test_a_page_reaching_out_fails(tmp_path: Path, html: str) -> None:
    root = folder(tmp_path, html + "<p>{{ name }}</p>")
    with pytest.raises(TemplateError, match="refused to load"):
        render(root)


def test_a_missing_or_broken_image_in_the_folder_fails_rather_than_being_left_out(tmp_path: Path) -> None:
    root = folder(tmp_path, '<img src="seal.png"><p>{{ name }}</p>')
    with pytest.raises(TemplateError, match=r"seal\.png: no such file in the template folder"):
        render(root)
    (root / "certificate" / "seal.png").write_bytes(b"not a picture")
    with pytest.raises(TemplateError, match=r"seal\.png"):
        render(root)


def test_data_urls_and_files_of_the_folder_load(tmp_path: Path) -> None:
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgAB"
             "SK+kcQAAAABJRU5ErkJggg==")
    root = folder(tmp_path, f'<img src="{pixel}"><img src="mark.svg"><p>{{{{ name }}}}</p>',
                  **{"mark.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                                 '<rect width="10" height="10"/></svg>'})
    assert render(root).startswith(b"%PDF-")


INTERNALS = ["values.__class__.__mro__", "asset.__globals__", "lang.format.__globals__",
             "name.__class__.__base__.__subclasses__()"]


@pytest.mark.parametrize("expression", INTERNALS)
def test_python_internals_are_out_of_reach(tmp_path: Path, expression: str) -> None:
    root = folder(tmp_path, "<p>{{ " + expression + " }}</p>")
    with pytest.raises(TemplateError, match=r"index.html line 1\): the sandbox refused: .*unsafe"):
        render(root)


def test_an_undefined_name_is_an_error_naming_the_line(tmp_path: Path) -> None:
    root = folder(tmp_path, "<p>{{ name }}</p>\n<p>{{ nmae }}</p>")
    with pytest.raises(TemplateError, match=r"index.html line 2\): UndefinedError: 'nmae' is undefined"):
        render(root)


def test_asset_names_only_files_of_the_folder(tmp_path: Path) -> None:
    root = folder(tmp_path, '{{ asset("logo.png") or "none" }}|{{ asset("index.html") }}')
    assert render_html("certificate", {"name": "x"}, templates_dir=root) == "none|index.html"
    (root / "certificate" / "index.html").write_text('{{ asset("../meta.yaml") }}', "utf-8")
    with pytest.raises(TemplateError, match="a plain file name inside the template folder"):
        render_html("certificate", {"name": "x"}, templates_dir=root)


def test_plain_values_only() -> None:
    assert plain({"a": [1, 2.5, None, True, dt.date(2026, 1, 2)], "b": ("x",)}) == {
        "a": [1, 2.5, None, True, dt.date(2026, 1, 2)], "b": ["x"]}
    for bad, where in ((decimal.Decimal("1.5"), r"values\['hours'\]"), ({1, 2}, r"values\['hours'\]"),
                       (print, r"values\['hours'\]"), ({3: "x"}, r"values\['hours'\]: keys must be strings")):
        with pytest.raises(TypeError, match=where):
            plain({"hours": bad})
