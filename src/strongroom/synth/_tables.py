# Chinese narrative text uses full-width punctuation on purpose.
# ruff: noqa: RUF001
"""Static tables for the synthetic data generator.

Everything here is fixed vocabulary (province names, a few cities per province, narrative
templates, weights). Nothing here describes a real person. Resident-ID address codes are *not*
copied here: they come from Faker's ``zh_CN`` SSN provider (see ``_generate``).
"""

from __future__ import annotations

from typing import Final

# Province-level prefix (first two digits of a GB/T 2260 address code) ->
# (province name, some prefecture-level cities or districts, approximate population in millions
# used only as a sampling weight).
PROVINCES: Final[dict[str, tuple[str, tuple[str, ...], int]]] = {
    "11": ("北京市", ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "通州区"), 22),
    "12": ("天津市", ("和平区", "河西区", "南开区", "河北区", "滨海新区"), 14),
    "13": ("河北省", ("石家庄市", "唐山市", "保定市", "邯郸市", "沧州市"), 75),
    "14": ("山西省", ("太原市", "大同市", "运城市", "长治市"), 35),
    "15": ("内蒙古自治区", ("呼和浩特市", "包头市", "赤峰市", "鄂尔多斯市"), 24),
    "21": ("辽宁省", ("沈阳市", "大连市", "鞍山市", "锦州市"), 43),
    "22": ("吉林省", ("长春市", "吉林市", "四平市", "延边朝鲜族自治州"), 24),
    "23": ("黑龙江省", ("哈尔滨市", "齐齐哈尔市", "大庆市", "牡丹江市"), 32),
    "31": ("上海市", ("黄浦区", "徐汇区", "浦东新区", "闵行区", "杨浦区"), 25),
    "32": ("江苏省", ("南京市", "苏州市", "无锡市", "徐州市", "南通市"), 85),
    "33": ("浙江省", ("杭州市", "宁波市", "温州市", "金华市", "绍兴市"), 65),
    "34": ("安徽省", ("合肥市", "芜湖市", "阜阳市", "安庆市"), 61),
    "35": ("福建省", ("福州市", "厦门市", "泉州市", "漳州市"), 41),
    "36": ("江西省", ("南昌市", "赣州市", "九江市", "上饶市"), 45),
    "37": ("山东省", ("济南市", "青岛市", "烟台市", "临沂市", "潍坊市"), 102),
    "41": ("河南省", ("郑州市", "洛阳市", "南阳市", "开封市", "新乡市"), 99),
    "42": ("湖北省", ("武汉市", "宜昌市", "襄阳市", "荆州市"), 58),
    "43": ("湖南省", ("长沙市", "株洲市", "衡阳市", "岳阳市"), 66),
    "44": ("广东省", ("广州市", "深圳市", "东莞市", "佛山市", "汕头市"), 126),
    "45": ("广西壮族自治区", ("南宁市", "柳州市", "桂林市", "玉林市"), 50),
    "46": ("海南省", ("海口市", "三亚市", "儋州市"), 10),
    "50": ("重庆市", ("渝中区", "江北区", "沙坪坝区", "万州区", "九龙坡区"), 32),
    "51": ("四川省", ("成都市", "绵阳市", "南充市", "宜宾市"), 84),
    "52": ("贵州省", ("贵阳市", "遵义市", "六盘水市", "毕节市"), 39),
    "53": ("云南省", ("昆明市", "曲靖市", "大理白族自治州", "红河哈尼族彝族自治州"), 47),
    "54": ("西藏自治区", ("拉萨市", "日喀则市", "昌都市"), 4),
    "61": ("陕西省", ("西安市", "宝鸡市", "咸阳市", "榆林市"), 40),
    "62": ("甘肃省", ("兰州市", "天水市", "酒泉市"), 25),
    "63": ("青海省", ("西宁市", "海东市", "格尔木市"), 6),
    "64": ("宁夏回族自治区", ("银川市", "吴忠市", "石嘴山市"), 7),
    "65": ("新疆维吾尔自治区", ("乌鲁木齐市", "喀什地区", "伊犁哈萨克自治州", "阿克苏地区"), 26),
}

# Relative number of people per birth year bucket (1930-2008), a rough population pyramid.
BIRTH_YEAR_WEIGHTS: Final[tuple[tuple[int, int, int], ...]] = (
    (1930, 1939, 2),
    (1940, 1949, 4),
    (1950, 1959, 8),
    (1960, 1969, 12),
    (1970, 1979, 11),
    (1980, 1989, 12),
    (1990, 1999, 10),
    (2000, 2008, 8),
)

# Uyghur-style given names (written in Chinese transliteration). A name is
# "<own name>·<father's name>", e.g. "买买提·艾力".
MINORITY_MALE: Final[tuple[str, ...]] = (
    "买买提",
    "艾力",
    "阿卜杜拉",
    "艾尔肯",
    "吐尔逊",
    "库尔班",
    "依明",
    "塔依尔",
    "托合提",
    "艾买提",
    "热合曼",
    "努尔",
    "阿里木",
    "亚森",
    "肉孜",
    "玉素甫",
    "阿不都",
    "麦麦提",
)
MINORITY_FEMALE: Final[tuple[str, ...]] = (
    "古丽",
    "阿依古丽",
    "热依拉",
    "帕提古丽",
    "米娜瓦尔",
    "祖丽皮亚",
    "阿依努尔",
    "古再丽",
    "热娜",
    "努尔古丽",
    "阿娜尔",
    "迪丽努尔",
)

# County-level address codes from Faker's list that are left out: 620201 (Jiayuguan's
# "municipal district" placeholder) has no county entry in python-stdnum's location database,
# which makes stdnum.cn.ric raise KeyError instead of answering.
EXCLUDED_AREA_CODES: Final[frozenset[str]] = frozenset({"620201"})

# Locales used for the small share of Latin-script names.
LATIN_LOCALES: Final[tuple[str, ...]] = (
    "de_DE",
    "en_US",
    "en_GB",
    "fr_FR",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pt_PT",
)

# Faker's zh_CN phone prefixes that the phonenumbers metadata does not accept as mobile
# numbers with 11 digits (149 is a data-card range).
EXCLUDED_PHONE_PREFIXES: Final[frozenset[int]] = frozenset({149})

# Incident vocabulary ------------------------------------------------------------------------

CHANNELS: Final[tuple[str, ...]] = ("call", "walk-in", "online", "patrol")
CHANNEL_WEIGHTS: Final[tuple[int, ...]] = (55, 20, 15, 10)

CATEGORIES: Final[tuple[str, ...]] = (
    "fraud",
    "robbery",
    "theft",
    "domestic violence",
    "sexual assault",
    "traffic",
    "public order",
    "other",
)
CATEGORY_WEIGHTS: Final[tuple[int, ...]] = (20, 5, 30, 7, 3, 15, 12, 8)

ROLES: Final[tuple[str, ...]] = ("caller", "victim", "suspect", "witness", "other")
STATUSES: Final[tuple[str, ...]] = ("open", "closed", "referred")

# Role of the first party, by channel.
FIRST_ROLE_WEIGHTS: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "call": (("caller", 45), ("victim", 55)),
    "walk-in": (("victim", 70), ("caller", 30)),
    "online": (("victim", 65), ("caller", 35)),
    "patrol": (("suspect", 40), ("other", 30), ("victim", 20), ("witness", 10)),
}
# Role of further parties, by category (the default applies to the others).
OTHER_ROLE_WEIGHTS: Final[tuple[tuple[str, int], ...]] = (
    ("suspect", 45),
    ("witness", 25),
    ("victim", 20),
    ("other", 10),
)
TRAFFIC_ROLE_WEIGHTS: Final[tuple[tuple[str, int], ...]] = (
    ("other", 50),
    ("witness", 20),
    ("suspect", 20),
    ("victim", 10),
)

# Number of parties: 1, 2 or 3.
PARTY_COUNT_WEIGHTS: Final[tuple[int, ...]] = (55, 30, 15)

# Hour of day (0..23) a report is received.
HOUR_WEIGHTS: Final[tuple[int, ...]] = (
    3, 2, 2, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 8, 7, 6, 4,
)  # fmt: skip

# Statuses for incidents received up to 2024 and from 2025 on.
STATUS_WEIGHTS_OLD: Final[tuple[int, ...]] = (8, 78, 14)
STATUS_WEIGHTS_RECENT: Final[tuple[int, ...]] = (50, 35, 15)

VENUE_SUFFIXES: Final[tuple[str, ...]] = (
    "",
    "",
    "",
    "附近",
    "路口",
    "小区",
    "商场",
    "地铁站出口",
    "便利店",
    "停车场",
    "公交站",
)

PLACES: Final[tuple[str, ...]] = (
    "小区",
    "商场",
    "地铁站",
    "公交站",
    "超市",
    "菜市场",
    "停车场",
    "学校门口",
    "公园",
    "酒吧",
    "火车站",
    "网吧",
)
ITEMS: Final[tuple[str, ...]] = (
    "手机",
    "钱包",
    "背包",
    "笔记本电脑",
    "金项链",
    "现金",
    "手提包",
)
VEHICLES: Final[tuple[str, ...]] = ("电动自行车", "摩托车", "自行车", "小型轿车")
AMOUNTS: Final[tuple[int, ...]] = (
    300, 500, 800, 1000, 1200, 1500, 2000, 2600, 3000, 4500, 5000, 6800, 8000, 10000,
    12000, 15000, 20000, 30000, 50000, 80000, 120000, 200000,
)  # fmt: skip

# Time-of-day word for each hour.
TIME_WORDS: Final[tuple[str, ...]] = (
    ("凌晨",) * 6 + ("上午",) * 5 + ("中午",) * 2 + ("下午",) * 4 + ("傍晚",) * 2 + ("晚上",) * 5
)

# Narrative templates per category. Slots: {time}, {place}, {item}, {vehicle}, {amount}.
# Templates never mention a person by name, number or identity document.
NARRATIVES: Final[dict[str, tuple[str, ...]]] = {
    "fraud": (
        "报警人称{time}接到自称客服的电话，被诱导转账约{amount}元。",
        "报警人称在网购平台遭遇虚假退款，损失约{amount}元。",
        "报警人称通过社交软件结识对方后被骗参与投资，累计损失约{amount}元。",
        "报警人称有人冒充公检法工作人员要求其转账，已转出约{amount}元。",
        "报警人称在网上办理贷款时被收取保证金约{amount}元后对方失联。",
    ),
    "robbery": (
        "报警人称{time}在{place}附近被一名男子抢走{item}。",
        "报警人称{time}在{place}被两名陌生人持刀威胁，被抢{item}。",
        "报警人称{time}步行经过{place}时被骑车人抢夺{item}。",
    ),
    "theft": (
        "报警人称停放在{place}的{vehicle}被盗。",
        "报警人称{time}在{place}发现随身携带的{item}被盗。",
        "报警人称家中被撬门入室，丢失现金约{amount}元。",
        "报警人称{time}乘坐公交车时随身携带的{item}被扒窃。",
    ),
    "domestic violence": (
        "报警人称{time}在家中与家人发生争执，遭到殴打。",
        "报警人称长期遭受配偶言语威胁和殴打，请求民警处理。",
        "报警人称{time}家中有人酒后打砸物品，家庭成员受到惊吓。",
    ),
    "sexual assault": (
        "报警人称{time}在{place}遭到陌生男子猥亵。",
        "报警人称{time}在{place}附近遭受性侵害，已陪同前往医院检查。",
    ),
    "traffic": (
        "{time}在{place}附近路口发生两车相撞事故，无人员受伤。",
        "报警人称{time}被一辆{vehicle}撞倒，肇事方未离开现场。",
        "{time}在{place}附近发生车辆剐蹭，双方对责任有争议。",
        "报警人称停放在{place}的{vehicle}被撞后肇事车辆驶离。",
    ),
    "public order": (
        "报警人称{time}在{place}有多人聚集争吵，影响周边秩序。",
        "报警人称{time}楼上住户噪音扰民，协商无果。",
        "{time}在{place}有人酒后滋事，与他人发生推搡。",
        "报警人称{time}在{place}有人散发小广告并与保安发生冲突。",
    ),
    "other": (
        "报警人称{time}在{place}捡到遗失物品，请求民警处理。",
        "报警人称家中老人{time}外出后未归，暂时联系不上。",
        "报警人咨询户籍办理相关事宜。",
        "报警人称{time}在{place}被困电梯，请求协助。",
    ),
}
