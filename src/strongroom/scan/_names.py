"""Personal names: what a name looks like, and which column headers name a name field.

A name has no checksum, so the scanner reports one only with support from around it: a
name-like column or key (``姓名``, ``full_name`` …), or another finding in the same row. The
shapes accepted here are deliberately narrow:

- Han names of 2-4 characters; outside a name column the first character (or the first two,
  for a compound surname) must be a common surname, and the name must not end like a place
  or an organisation (``区``, ``市``, ``公司`` …);
- minority names written with a middle dot (``买买提·艾力``);
- Latin names of two to four capitalised words (``Anna Müller``, ``Zhang San``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

__all__ = ["is_name_header", "looks_like_name", "mask_name"]

#: the ~400 most common single-character surnames (the same list Faker's zh_CN provider uses)
_SURNAMES: Final = frozenset(
    "王李张刘陈杨黄吴赵周徐孙马朱胡林郭何高罗郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任姚卢傅钟姜崔谭廖范汪"
    "陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严赖覃洪武莫孔汤向常温康施文牛樊葛邢安齐易乔伍庞颜倪庄"
    "聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶"
    "解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑"
    "郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴"
    "盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕"
    "危玉银亢嵇公哈湛宾戎勾茅利呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)
_COMPOUND: Final = frozenset(
    (
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "慕容",
        "令狐",
        "夏侯",
        "尉迟",
        "公孙",
        "长孙",
        "宇文",
        "司徒",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "万俟",
        "轩辕",
        "呼延",
    )
)
#: endings of places, organisations and roles that share a first character with a surname
_NOT_NAME_ENDINGS: Final = (
    *"区市省县镇乡村路街道号楼室弄巷园湾桥站局所院店队厂校部处科组",
    "公司",
    "集团",
    "银行",
    "大学",
    "中学",
    "小学",
    "医院",
    "派出所",
    "分局",
)

_HAN: Final = re.compile(r"[\u4e00-\u9fff]{2,4}")
_MINORITY: Final = re.compile(r"[\u4e00-\u9fff]{1,8}[·•・][\u4e00-\u9fff]{1,10}")
_LATIN: Final = re.compile(
    r"[A-Z][A-Za-zÀ-ÖØ-öø-ÿ'\-]{0,30}(?: [A-Z][A-Za-zÀ-ÖØ-öø-ÿ'\-]{0,30}){1,3}"
)

#: header spellings (lower case, separators as ``_``) that name a person's name
_NAME_HEADERS: Final = frozenset(
    (
        "name",
        "full_name",
        "fullname",
        "first_name",
        "firstname",
        "last_name",
        "lastname",
        "middle_name",
        "surname",
        "given_name",
        "givenname",
        "family_name",
        "real_name",
        "realname",
        "contact",
        "contact_name",
        "customer_name",
        "person_name",
        "holder_name",
        "card_holder",
        "cardholder",
        "english_name",
        "pinyin_name",
        "name_pinyin",
        "xingming",
    )
)
_NAME_HEADER_WORDS: Final = ("姓名", "名字", "联系人", "收件人", "持卡人", "户主", "当事人")
_CAMEL: Final = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SEPARATORS: Final = re.compile(r"[\s\-.]+")


@lru_cache(maxsize=4096)
def is_name_header(header: str) -> bool:
    """True for a column or key named like a name field (``姓名``, ``full_name``, ``firstName``)."""
    if any(word in header for word in _NAME_HEADER_WORDS):
        return True
    key = _SEPARATORS.sub("_", _CAMEL.sub("_", header.strip())).lower()
    return key in _NAME_HEADERS


def _has_surname(text: str) -> bool:
    return text[:2] in _COMPOUND or text[0] in _SURNAMES


def looks_like_name(text: str, *, in_name_field: bool) -> bool:
    """Whether ``text`` (already stripped) has the shape of a personal name.

    In a name field any 2-4 Han characters, a dotted minority name or a Latin name counts;
    elsewhere a Han name must start with a common surname and must not end like a place.
    """
    if _MINORITY.fullmatch(text):
        return True
    if _HAN.fullmatch(text):
        if in_name_field:
            return True
        return _has_surname(text) and not text.endswith(_NOT_NAME_ENDINGS)
    return bool(_LATIN.fullmatch(text))


def mask_name(text: str) -> str:
    """``王小明`` -> ``王*``: the first character and one ``*`` (as the policy masks do)."""
    return text[0] + "*" if text else "*"
