"""The built-in certificate types (Table 18 items + surface templates) and who defines them.

Type codes are the defining authority's USCC + a 3-digit sequence (A.4). 公安部's USCC is the real
one (``11100000000013127D``, so 居民身份证 is ``11100000000013127D001``); the other authorities'
codes are made up with a valid GB 11714 organisation code and GB 32100 check character.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nodes.model.types import CertificateType, SurfaceColumn
from nodes.synth.ids import NATIONAL_AREA, authority_uscc

PERSON = "自然人"
ORGANISATION = "法人和其他组织"


@dataclass(frozen=True, slots=True)
class Authority:
    """A central authority that defines certificate types."""

    name: str
    code: str  # USCC


MPS = Authority("中华人民共和国公安部", "11100000000013127D")
SAMR = Authority("国家市场监督管理总局", authority_uscc(NATIONAL_AREA, "00001396"))
MCA = Authority("中华人民共和国民政部", authority_uscc(NATIONAL_AREA, "00001305"))
MOT = Authority("中华人民共和国交通运输部", authority_uscc(NATIONAL_AREA, "00001322"))

BUSINESS_LICENCE = SAMR.code + "001"  # 营业执照
FOOD_LICENCE = SAMR.code + "002"  # 食品经营许可证
RESIDENT_ID = MPS.code + "001"  # 居民身份证
DRIVING_LICENCE = MPS.code + "002"  # 机动车驾驶证
MARRIAGE = MCA.code + "001"  # 结婚证
TRANSPORT_QUALIFICATION = MOT.code + "001"  # 道路运输从业人员从业资格证
TRANSPORT_PERMIT = MOT.code + "002"  # 道路运输经营许可证


def _columns(*pairs: str) -> tuple[SurfaceColumn, ...]:
    """``"名称 ENTNAME"`` → SurfaceColumn(name="名称", columnName="ENTNAME")."""
    result = []
    for pair in pairs:
        name, column = pair.split(" ")
        result.append(SurfaceColumn(name=name, columnName=column))
    return tuple(result)


def _type(
    name: str,
    code: str,
    authority: Authority,
    category: str,
    *,
    level: str,
    related: tuple[str, str],
    surface: tuple[SurfaceColumn, ...],
) -> CertificateType:
    return CertificateType(
        CertificateTypeName=name,
        CertificateTypeCode=code,
        CertificateDefineAuthorityName=authority.name,
        CertificateDefineAuthorityCode=authority.code,
        CertificateDefineAuthorityLevel="国家级",
        RelatedItemName=related[0],
        RelatedItemCode=related[1],
        CertificateHolderCategory=category,
        ValidityRange="全国",
        CertificateIssuingAuthorityLevel=level,
        surface_template=surface,
    )


CATALOGUE: tuple[CertificateType, ...] = (
    # Appendix C.4, column for column.
    _type(
        "营业执照",
        BUSINESS_LICENCE,
        SAMR,
        ORGANISATION,
        level="省级、市级、县级",
        related=("企业设立登记", "000106001000"),
        surface=_columns(
            "名称 ENTNAME",
            "住所 dom",
            "法定代表人 name",
            "类型 REPORTTYPE",
            "注册资本 regcap",
            "经营范围 opscope",
            "登记状态 regstate",
            "组成形式 compform",
            "经营场所 oploc",
            "其他信息 otherinfo",
            "企业信用信息公示系统网址 puburl",
            "成立日期 estdate",
        ),
    ),
    _type(
        "食品经营许可证",
        FOOD_LICENCE,
        SAMR,
        ORGANISATION,
        level="市级、县级",
        related=("食品经营许可", "000106033000"),
        surface=_columns(
            "经营者名称 JYZMC",
            "社会信用代码 SHXYDM",
            "法定代表人 FDDBR",
            "住所 ZS",
            "经营场所 JYCS",
            "主体业态 ZTYT",
            "经营项目 JYXM",
            "许可证编号 XKZBH",
            "有效期至 YXQZ",
            "发证机关 FZJG",
        ),
    ),
    _type(
        "居民身份证",
        RESIDENT_ID,
        MPS,
        PERSON,
        level="县级",
        related=("居民身份证申领", "000114001000"),
        surface=_columns(
            "姓名 XM",
            "性别 XB",
            "民族 MZ",
            "出生 CSRQ",
            "住址 ZZ",
            "公民身份号码 GMSFHM",
            "签发机关 QFJG",
            "有效期限 YXQX",
        ),
    ),
    _type(
        "机动车驾驶证",
        DRIVING_LICENCE,
        MPS,
        PERSON,
        level="省级",
        related=("机动车驾驶证申领", "000114026000"),
        surface=_columns(
            "证号 ZH",
            "姓名 XM",
            "性别 XB",
            "国籍 GJ",
            "住址 ZZ",
            "出生日期 CSRQ",
            "初次领证日期 CCLZRQ",
            "准驾车型 ZJCX",
            "有效期限 YXQX",
            "发证机关 FZJG",
        ),
    ),
    _type(
        "结婚证",
        MARRIAGE,
        MCA,
        PERSON,
        level="县级",
        related=("内地居民结婚登记", "000112005000"),
        surface=_columns(
            "持证人 CZR",
            "登记日期 DJRQ",
            "结婚证字号 JHZZH",
            "男方姓名 NFXM",
            "男方身份证件号 NFSFZJHM",
            "男方出生日期 NFCSRQ",
            "女方姓名 NVFXM",
            "女方身份证件号 NVFSFZJHM",
            "女方出生日期 NVFCSRQ",
            "登记机关 DJJG",
        ),
    ),
    _type(
        "道路运输从业人员从业资格证",
        TRANSPORT_QUALIFICATION,
        MOT,
        PERSON,
        level="国家级、省级、市级",
        related=("道路运输从业人员从业资格考试", "000117010000"),
        surface=_columns(
            "姓名 XM",
            "性别 XB",
            "出生日期 CSRQ",
            "住址 ZZ",
            "证号 ZH",
            "从业资格类别 CYZGLB",
            "初领日期 CLRQ",
            "有效期限 YXQX",
            "发证机关 FZJG",
        ),
    ),
    _type(
        "道路运输经营许可证",
        TRANSPORT_PERMIT,
        MOT,
        ORGANISATION,
        level="国家级、省级、市级",
        related=("道路货物运输经营许可", "000117002000"),
        surface=_columns(
            "业户名称 YHMC",
            "地址 DZ",
            "经济类型 JJLX",
            "经营范围 JYFW",
            "许可证号 XKZH",
            "有效期限 YXQX",
            "发证机关 FZJG",
        ),
    ),
)

BY_CODE: Mapping[str, CertificateType] = MappingProxyType(
    {t.CertificateTypeCode: t for t in CATALOGUE}
)


@dataclass(frozen=True, slots=True)
class TypeProfile:
    """How the generator issues a type: validity in years (None = 长期) and status reasons."""

    validity_years: tuple[int | None, ...]
    cancel_reasons: tuple[str, ...]
    restrict_reasons: tuple[str, ...] = ()

    @property
    def can_expire(self) -> bool:
        return any(years is not None for years in self.validity_years)


PROFILES: Mapping[str, TypeProfile] = MappingProxyType(
    {
        BUSINESS_LICENCE: TypeProfile(
            (None, None, 20, 30),
            ("企业申请注销登记", "简易注销登记"),
            ("违法经营，依法暂扣营业执照",),
        ),
        FOOD_LICENCE: TypeProfile(
            (5,),
            ("经营者申请注销食品经营许可", "营业执照注销，食品经营许可随之注销"),
            (
                "食品安全抽检不合格，依法暂扣食品经营许可证",
                "未按规定进行食品安全自查，暂扣许可证件",
            ),
        ),
        RESIDENT_ID: TypeProfile(
            (10, 20, None),
            ("换领新证，原证注销", "户口迁出注销"),
            ("证件涉嫌被冒用，暂停使用",),
        ),
        DRIVING_LICENCE: TypeProfile(
            (6, 10, None),
            ("驾驶人申请注销", "记分周期内累积记分达到12分未参加学习考试"),
            ("饮酒后驾驶机动车，依法暂扣机动车驾驶证六个月", "逾期未接受处理，暂扣驾驶证"),
        ),
        MARRIAGE: TypeProfile((None,), ("双方办理离婚登记", "婚姻登记被依法撤销")),
        TRANSPORT_QUALIFICATION: TypeProfile(
            (6,),
            ("持证人申请注销", "机动车驾驶证被注销"),
            ("发生负有责任的道路交通事故，暂扣从业资格证",),
        ),
        TRANSPORT_PERMIT: TypeProfile(
            (4, 6),
            ("业户申请终止经营", "营业执照注销"),
            ("未按规定进行年度审验，暂扣道路运输经营许可证",),
        ),
    }
)
