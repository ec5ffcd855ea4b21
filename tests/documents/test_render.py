"""Certificates, archives and registration forms render as PDFs whose text, fonts and QR code hold up."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import shutil
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2  # type: ignore[import-untyped]
import pytest
import zxingcpp
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from plugin_service.services.documents import fonts
from plugin_service.services.documents.render import (
    KINDS,
    CertificateRenderer,
    TemplateError,
    preview_values,
    render_html,
    render_pdf,
)
from plugin_service.services.documents.templates import PACKAGED

A4 = (595.28, 841.89)
RARE = "䶮堃昇赟燊珺婳"
LONG_DEPARTMENT = "马克思主义学院思想政治理论课教学研究部暨习近平新时代中国特色社会主义思想研究中心"


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def squashed(text: str) -> str:
    """Without white space: a line may break wherever the layout put it."""
    return re.sub(r"\s+", "", text)


def has(pdf_text: str, *expected: str) -> None:
    body = squashed(pdf_text)
    missing = [item for item in expected if squashed(item) not in body]
    assert not missing, f"not in the text: {missing}"


def pages(pdf: bytes) -> list[Any]:
    return list(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def embedded_characters(pdf: bytes) -> set[str]:
    """Characters some embedded font maps to a real glyph: a character outside it would print as tofu."""
    found: set[str] = set()
    for page in pages(pdf):
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", []):
                program = descendant.get_object()["/FontDescriptor"].get_object()["/FontFile2"]
                cmap = TTFont(io.BytesIO(program.get_object().get_data())).getBestCmap() or {}
                found.update(chr(point) for point in cmap)
    return found


def page_image(pdf: bytes, scale: float = 1.0) -> Any:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[0].render(scale=scale).to_pil().convert("L")
    finally:
        document.close()


def dark_fraction(pdf: bytes) -> float:
    image = page_image(pdf, 0.5)
    histogram = image.histogram()
    return sum(histogram[:128]) / (image.width * image.height)


def decoded_qr(pdf: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(page_image(pdf, 3.0))]


def values(kind: str) -> dict[str, Any]:
    return preview_values(kind)


def flat(value: Any) -> str:
    """Hours as the documents print them."""
    return f"{value:g}"


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_from_its_preview_values(kind: str) -> None:
    sample = values(kind)
    pdf = render_pdf(kind, sample)
    assert pdf.startswith(b"%PDF-")
    first = pages(pdf)[0]
    assert (float(first.mediabox.width), float(first.mediabox.height)) == pytest.approx(A4, abs=0.5)
    text = text_of(pdf)
    if kind == "bulletin":  # a bulletin is of departments, not of one cadre
        has(text, sample["title"], sample["departments"][0]["name"], sample["tiers"][0]["name"])
    else:
        cadre = sample.get("cadre", sample)
        assert cadre["name"] in text and cadre["department"] in text
    assert dark_fraction(pdf) > 0.01, "page 1 is blank"


def test_the_certificate_prints_the_facts_and_its_qr_code_gives_the_verification_url() -> None:
    sample = values("certificate")
    pdf = render_pdf("certificate", sample)
    text = text_of(pdf)
    has(text, "干部在线学习学时证明书", "兹证明 张伟 同志（工号 T20408，教务处副处长）",
        "累计完成学时 52 学时", "必修课 32 学时", "选修课 20 学时", "特发此证", sample["issuer"],
        "2026 年 12 月 31 日", sample["serial"], sample["verify_url"])
    assert "第 1 版" not in text
    assert decoded_qr(pdf) == [sample["verify_url"]]
    assert len(pdf) < 80 * 1024


def test_hours_print_as_written_and_a_later_version_says_so() -> None:
    sample = values("certificate") | {"total_hours": 52.5, "required_hours": 32.0, "elective_hours": 20.5,
                                      "version": 2}
    text = text_of(render_pdf("certificate", sample))
    has(text, "累计完成学时 52.5 学时", "必修课 32 学时", "选修课 20.5 学时", "第 2 版")
    assert "32.0" not in text


def test_rare_name_characters_are_embedded_and_extract(tmp_path: Path) -> None:
    sample = values("certificate") | {"name": "刘䶮", "department": "信息工程学院（" + RARE + "）",
                                      "position": ""}
    pdf = render_pdf("certificate", sample)
    has(text_of(pdf), "刘䶮", RARE)
    embedded = embedded_characters(pdf)
    wanted = set("".join(str(v) for v in sample.values())) - set(" \n")
    assert wanted - embedded == set(), "characters without an embedded glyph (tofu)"
    assert len(pdf) < 80 * 1024


def test_a_character_no_font_has_is_refused_naming_the_value() -> None:
    sample = values("certificate") | {"name": "张\U00013000伟"}  # an Egyptian hieroglyph
    with pytest.raises(fonts.MissingGlyphError, match=r"values\['name'\].*U\+13000"):
        render_pdf("certificate", sample)


def test_edge_values_zero_hours_long_department_and_empty_position() -> None:
    long_department = LONG_DEPARTMENT
    sample = values("certificate") | {"total_hours": 0, "required_hours": 0, "elective_hours": 0.0,
                                      "department": long_department, "position": "", "tier_name": ""}
    pdf = render_pdf("certificate", sample)
    has(text_of(pdf), "累计完成学时 0 学时", long_department)
    assert len(pages(pdf)) == 1


def test_the_english_certificate_has_the_english_title_and_the_same_facts() -> None:
    sample = values("certificate")
    pdf = render_pdf("certificate", sample, lang="en")
    has(text_of(pdf), "Certificate of Study Hours", "张伟", "教务处", "52 study hours", "31 December 2026")
    assert decoded_qr(pdf) == [sample["verify_url"]]


def test_an_unknown_language_or_kind_is_refused() -> None:
    with pytest.raises(TemplateError, match=r"no template for language 'fr'.*en, zh"):
        render_pdf("certificate", values("certificate"), lang="fr")
    with pytest.raises(TemplateError, match="no template for language 'en'"):
        render_pdf("archive", values("archive"), lang="en")
    with pytest.raises(ValueError, match="unknown document kind 'diploma'"):
        render_pdf("diploma", {})


def test_a_missing_value_is_named() -> None:
    sample = values("certificate")
    del sample["verify_url"]
    with pytest.raises(TemplateError, match=r"values\['verify_url'\] is required and missing"):
        render_pdf("certificate", sample)
    archive = values("archive")
    del archive["years"][1]["courses"][0]["credited_hours"]
    with pytest.raises(TemplateError,
                       match=r"values\['years'\]\[1\]\['courses'\]\[0\]\['credited_hours'\] is required"):
        render_pdf("archive", archive)
    wrong = values("certificate") | {"year": "2026"}
    with pytest.raises(TemplateError, match=r"values\['year'\] must be integer, got str"):
        render_pdf("certificate", wrong)


def test_values_must_be_plain() -> None:
    class Cadre:
        name = "张伟"

    archive = values("archive")
    archive["cadre"] = Cadre()
    with pytest.raises(TypeError, match=r"values\['cadre'\]: .*Cadre is not a plain value"):
        render_pdf("archive", archive)
    with pytest.raises(TypeError, match="not a plain value"):
        render_html("certificate", values("certificate") | {"serial": b"bytes"})


def course(index: int, year: int) -> dict[str, Any]:
    return {"name": f"第 {index} 门课程：职业教育改革与学校治理专题",
            "kind_name": "必修" if index < 8 else "选修",
            "hours": 4, "credited_hours": 4, "completed_on": dt.date(year, 3 + index % 9, 1 + index),
            "grade": 80 + index % 20 / 2}


def test_a_five_year_archive_with_many_courses_runs_over_pages_with_every_year() -> None:
    archive = values("archive")
    template = archive["years"][1]
    archive["years"] = [copy.deepcopy(template) | {"year": year, "plan_title": f"{year} 年干部在线学习计划",
                                                    "courses": [course(i, year) for i in range(25)]}
                        for year in range(2022, 2027)]
    pdf = render_pdf("archive", archive)
    assert len(pages(pdf)) >= 6  # the overview, then each year on pages of its own
    has(text_of(pdf), *(f"{year} 年干部在线学习计划" for year in range(2022, 2027)),
        "第 24 门课程", "第 1 页")


def test_the_registration_form_stays_one_page_with_many_courses_and_a_long_department() -> None:
    form = values("registration")
    form["cadre"]["department"] = LONG_DEPARTMENT
    form["courses"] = [course(i, 2026) | {"name": course(i, 2026)["name"] * 2} for i in range(30)]
    form["reflections"] = form["reflections"] * 5
    pdf = render_pdf("registration", form)
    assert len(pages(pdf)) == 1
    has(text_of(pdf), "本人签字", "所在部门", "组织部门", "另有 20 门课程", form["cadre"]["name"],
        form["cadre"]["department"])


def test_the_registration_form_with_no_courses_yet() -> None:
    form = values("registration") | {"courses": [], "reflections": [], "total_hours": 0,
                                     "required_hours": 0, "elective_hours": 0, "status_name": "进度落后"}
    pdf = render_pdf("registration", form)
    assert len(pages(pdf)) == 1
    has(text_of(pdf), "合计 0 学时")


def test_an_organisation_copy_restyles_one_folder_and_keeps_the_others(tmp_path: Path) -> None:
    shutil.copytree(PACKAGED / "certificate", tmp_path / "certificate")
    page = tmp_path / "certificate" / "certificate.html"
    page.write_text(page.read_text("utf-8").replace("特发此证。", "特此证明。"), "utf-8")
    (tmp_path / "certificate" / "seal.svg").unlink()
    pdf = render_pdf("certificate", values("certificate"), templates_dir=tmp_path)
    text = text_of(pdf)
    has(text, "特此证明")
    assert "特发此证" not in text
    assert "样" not in text  # no seal file, no seal
    assert "学习档案" in text_of(render_pdf("archive", values("archive"), templates_dir=tmp_path))


def test_a_broken_meta_yaml_is_named(tmp_path: Path) -> None:
    shutil.copytree(PACKAGED / "certificate", tmp_path / "certificate")
    (tmp_path / "certificate" / "meta.yaml").write_text("name: x\npaper: A4\nlanguages: [zh\n", "utf-8")
    with pytest.raises(TemplateError, match=r"certificate/meta.yaml line \d+: not valid YAML"):
        render_pdf("certificate", values("certificate"), templates_dir=tmp_path)
    with pytest.raises(TemplateError, match="does not exist"):
        render_pdf("certificate", values("certificate"), templates_dir=tmp_path / "nowhere")


def test_the_batch_renderer_keeps_the_order_on_a_pool_and_in_process() -> None:
    names = ["张伟", "李娜", "王芳", "刘䶮", "陈堃", "周珺", "赵赟", "黄燊", "吴婳", "欧阳明轩"]
    batch = [values("certificate") | {"name": name, "verify_url": f"https://cadre.example.edu.cn/verify/{i}"}
             for i, name in enumerate(names)]
    with CertificateRenderer(workers=2) as renderer:
        pooled = list(renderer.render_many(iter(batch)))
    with CertificateRenderer(workers=1) as renderer:
        local = list(renderer.render_many(batch[:3]))
    assert len(pooled) == len(names)
    for name, pdf in zip(names, pooled, strict=True):
        has(text_of(pdf), f"兹证明 {name} 同志")
    assert [text_of(pdf) for pdf in local] == [text_of(pdf) for pdf in pooled[:3]]


def test_the_batch_renderer_refuses_a_bad_value_in_the_caller() -> None:
    with CertificateRenderer(workers=2) as renderer:
        rendered = renderer.render_many([values("certificate") | {"serial": object()}])
        with pytest.raises(TypeError, match=r"values\['serial'\]"):
            next(rendered)
