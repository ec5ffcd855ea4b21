"""Splitting a cadre's name into Moodle's lastname and firstname.

Moodle wants both, and sorts and greets by them; HR rosters hold one 姓名. A Chinese name is the surname
then the given name: one character for most surnames, two for the compound ones (复姓) such as 欧阳 or
诸葛. Names of some ethnic minorities are written with a middle dot (阿依古丽·买买提), the given name first;
Latin names are "Given Family".
"""

from __future__ import annotations

COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "司空",
    "夏侯", "轩辕", "令狐", "钟离", "独孤", "南宫", "西门", "澹台", "公冶", "太史", "端木", "申屠", "万俟",
    "闻人", "赫连", "拓跋", "百里", "东郭", "呼延", "左丘", "第五", "羊舌", "微生", "梁丘", "子车", "颛孙",
    "谷梁", "乐正", "宰父", "濮阳", "公羊", "仲孙", "单于", "巫马", "公西", "漆雕", "壤驷", "公良", "段干",
    "闾丘", "亓官", "司寇", "鲜于", "东门", "公伯", "归海", "墨哈", "谯笪", "年爱", "阳佟", "淳于", "相里",
})
_MIDDLE_DOTS = ("·", "•", "・", "‧", "∙")


def split_name(name: str) -> tuple[str, str]:
    """(lastname, firstname) for Moodle; neither is empty, since Moodle requires both."""
    name = " ".join(name.split())
    if not name:
        return "", ""
    for dot in _MIDDLE_DOTS:
        if dot in name:
            given, _, family = name.partition(dot)
            if given.strip() and family.strip():
                return family.strip(), given.strip()
    if " " in name and name.isascii():
        given, _, family = name.rpartition(" ")
        return family, given
    name = name.replace(" ", "")
    if len(name) == 1:
        return name, name
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[0]
    return surname, name[len(surname):]
