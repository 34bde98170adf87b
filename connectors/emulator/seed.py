"""The demo population: a deterministic, realistic Japanese B2B marketing and sales history.

`generate(leads, seed, now)` returns plain values that each emulator loads into its own
store: people with their companies and titles, their marketing activity over recent weeks,
and what sales did with the ones that were handed over (a plausible funnel: most never
qualify, some were handed to sales, most of those were called in time and a few neglected,
some qualified, some closed won or lost). The same `seed` gives the same world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

SURNAMES = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("松本", "matsumoto"), ("井上", "inoue"), ("木村", "kimura"),
    ("林", "hayashi"), ("清水", "shimizu"), ("山崎", "yamazaki"), ("森", "mori"),
)  # fmt: skip
GIVEN_NAMES = (
    ("翔太", "shota"), ("美咲", "misaki"), ("大輔", "daisuke"), ("由美", "yumi"),
    ("健一", "kenichi"), ("彩", "aya"), ("拓也", "takuya"), ("恵", "megumi"),
    ("直樹", "naoki"), ("陽子", "yoko"), ("誠", "makoto"), ("真由美", "mayumi"),
)  # fmt: skip
COMPANY_STEMS = (
    ("東和", "towa"), ("日本精工機", "nsk-kiki"), ("さくら", "sakura"), ("北斗", "hokuto"),
    ("三栄", "san-ei"), ("大和", "yamato"), ("富士", "fuji"), ("光洋", "koyo"),
    ("青葉", "aoba"), ("中央", "chuo"), ("平和", "heiwa"), ("昭栄", "shoei"),
)  # fmt: skip
COMPANY_KINDS = (
    ("製作所", "製造業"), ("電機", "製造業"), ("化学", "製造業"), ("システムズ", "情報通信業"),
    ("ソフト", "情報通信業"), ("商事", "卸売業"), ("物産", "卸売業"), ("建設", "建設業"),
    ("銀行", "金融業"), ("メディカル", "医療・福祉"), ("リテール", "小売業"),
)  # fmt: skip
TITLES = (
    ("製造部 部長", 3), ("情報システム部 部長", 3), ("経営企画部 本部長", 2), ("取締役", 2),
    ("代表取締役社長", 1), ("CTO", 1), ("営業部 課長", 4), ("総務部 係長", 4), ("担当", 8),
    ("Engineer", 3), ("Director of IT", 1), ("Head of Operations", 1), ("主任", 5),
)  # fmt: skip
CAMPAIGNS = (
    "2026 展示会 東京",
    "製造業DX ウェビナー",
    "ホワイトペーパー広告",
    "メールマガジン",
    "紹介",
)
SOURCES = ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "OFFLINE", "REFERRALS")
FORMS = {
    "content_download": (
        "製造業DX 資料ダウンロード",
        "Whitepaper: Smart Factory",
        "導入事例集 資料請求",
    ),
    "webinar_attended": ("生産管理セミナー 申込", "DX Webinar registration", "品質管理ウェビナー"),
    "inquiry": ("お問い合わせ", "Contact us"),
    "demo_request": ("デモ依頼", "Request a demo"),
    "quote_request": ("お見積り依頼", "Request a quote"),
}
PAGES = ("/", "/features", "/case-studies/manufacturing", "/blog/dx-guide", "/pricing", "/company")
SALES_REPS = (
    ("山口 剛", "t.yamaguchi@sales.example.co.jp"), ("石川 香織", "k.ishikawa@sales.example.co.jp"),
    ("前田 亮", "r.maeda@sales.example.co.jp"), ("藤田 綾香", "a.fujita@sales.example.co.jp"),
    ("小川 浩二", "k.ogawa@sales.example.co.jp"),
)  # fmt: skip
RECYCLE_REASONS = ("予算は来期", "時期尚早 (not this term)", "担当者の異動", "競合製品を導入済み")
LOSS_REASONS = ("価格", "競合に敗退", "プロジェクト凍結")

SeedKind = Literal["form", "page", "email_open", "email_click", "unsubscribe"]


@dataclass(frozen=True, slots=True)
class SeedActivity:
    """One marketing touchpoint: a form (with its name), a page view, an e-mail event."""

    kind: SeedKind
    at: datetime
    name: str | None = None
    url: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class SalesHistory:
    """What happened in Salesforce to a person who was handed to sales."""

    owner: int
    handed_off_at: datetime
    touches: tuple[tuple[Literal["call", "meeting"], datetime], ...] = ()
    bant: tuple[bool, bool, bool, bool] | None = None
    status: Literal["open", "working", "recycled", "disqualified", "converted"] = "open"
    reason: str | None = None
    opportunity: Literal["open", "won", "lost"] | None = None
    amount: int | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Person:
    first_name: str
    last_name: str
    email: str
    company: str
    industry: str
    employees: int
    title: str
    country: str
    source: str
    campaign: str
    created_at: datetime
    activities: tuple[SeedActivity, ...] = ()
    sales: SalesHistory | None = None


@dataclass(frozen=True, slots=True)
class Population:
    people: tuple[Person, ...]
    sales_reps: tuple[tuple[str, str], ...] = field(default=SALES_REPS)


def generate(leads: int, seed: int, now: datetime, weeks: int = 6) -> Population:
    """`leads` people with `weeks` of history up to `now`, the same for the same `seed`."""
    rng = random.Random(seed)
    start = now - timedelta(weeks=weeks)
    people = [_person(rng, n, start, now) for n in range(leads)]
    return Population(tuple(people))


def _person(rng: random.Random, n: int, start: datetime, now: datetime) -> Person:
    surname, surname_romaji = rng.choice(SURNAMES)
    given, given_romaji = rng.choice(GIVEN_NAMES)
    stem, stem_romaji = rng.choice(COMPANY_STEMS)
    suffix, industry = rng.choice(COMPANY_KINDS)
    titles, weights = zip(*TITLES, strict=True)
    created = start + timedelta(minutes=rng.randrange(int((now - start).total_seconds() // 60)))
    intent = rng.choices(("cold", "warm", "hot"), weights=(62, 26, 12))[0]
    activities = _activities(rng, intent, created, now)
    handed = _handoff_time(activities) if intent != "cold" else None
    return Person(
        first_name=given,
        last_name=surname,
        email=f"{given_romaji}.{surname_romaji}{n}@{stem_romaji}{n % 97}.example.co.jp",
        company=f"{stem}{suffix}",
        industry=industry,
        employees=rng.choice((15, 40, 80, 120, 300, 650, 1200, 3000, 8000)),
        title=rng.choices(titles, weights=weights)[0],
        country="Japan",
        source=rng.choice(SOURCES),
        campaign=rng.choice(CAMPAIGNS),
        created_at=created,
        activities=tuple(activities),
        sales=_sales(rng, handed, now) if handed is not None else None,
    )


def _activities(
    rng: random.Random, intent: str, created: datetime, now: datetime
) -> list[SeedActivity]:
    count = {"cold": rng.randint(0, 3), "warm": rng.randint(3, 8), "hot": rng.randint(6, 14)}[
        intent
    ]
    span = max(int((now - created).total_seconds()), 60)
    found: list[SeedActivity] = []
    for _ in range(count):
        at = created + timedelta(seconds=rng.randrange(span))
        roll = rng.random()
        campaign = rng.choice(CAMPAIGNS)
        if roll < 0.35:
            found.append(SeedActivity("email_open", at, campaign=campaign))
        elif roll < 0.45:
            found.append(SeedActivity("email_click", at, url=rng.choice(PAGES), campaign=campaign))
        elif roll < 0.75:
            found.append(
                SeedActivity("page", at, url=f"https://www.example.co.jp{rng.choice(PAGES)}")
            )
        else:
            kind = rng.choices(
                list(FORMS),
                weights=(
                    5,
                    3 if intent != "cold" else 1,
                    1,
                    1 if intent == "hot" else 0,
                    1 if intent == "hot" else 0,
                ),
            )[0]
            found.append(SeedActivity("form", at, name=rng.choice(FORMS[kind]), campaign=campaign))
    if intent == "cold" and rng.random() < 0.08:
        found.append(SeedActivity("unsubscribe", created + timedelta(seconds=rng.randrange(span))))
    return sorted(found, key=lambda activity: activity.at)


def _handoff_time(activities: list[SeedActivity]) -> datetime | None:
    """Handed to sales at the first download or webinar form, as the old process did."""
    for activity in activities:
        if activity.kind == "form" and activity.name in (
            *FORMS["content_download"],
            *FORMS["webinar_attended"],
        ):
            return activity.at + timedelta(hours=2)
    return None


def _sales(rng: random.Random, handed: datetime, now: datetime) -> SalesHistory | None:
    if handed >= now:
        return None
    owner = rng.randrange(len(SALES_REPS))
    roll = rng.random()
    if roll < 0.12:  # neglected: nobody called
        return SalesHistory(owner, handed)
    delay = (
        timedelta(hours=rng.choice((2, 5, 20, 30, 50)))
        if roll < 0.9
        else timedelta(days=rng.randint(5, 9))
    )
    first = handed + delay
    if first >= now:
        return SalesHistory(owner, handed)
    touches: list[tuple[Literal["call", "meeting"], datetime]] = [("call", first)]
    outcome = rng.random()
    if outcome < 0.35:
        return SalesHistory(owner, handed, tuple(touches), status="working")
    if outcome < 0.55:
        return SalesHistory(
            owner, handed, tuple(touches), status="recycled", reason=rng.choice(RECYCLE_REASONS)
        )
    if outcome < 0.62:
        return SalesHistory(
            owner, handed, tuple(touches), status="disqualified", reason="対象外 (not a fit)"
        )
    meeting = first + timedelta(days=rng.randint(1, 4))
    touches.append(("meeting", min(meeting, now)))
    bant = (True, rng.random() < 0.7, True, rng.random() < 0.8)
    closed = rng.random()
    if closed < 0.45:
        return SalesHistory(owner, handed, tuple(touches), bant, status="working")
    close_at = min(meeting + timedelta(days=rng.randint(7, 21)), now)
    result: Literal["open", "won", "lost"] = (
        "open" if closed < 0.65 else ("won" if closed < 0.85 else "lost")
    )
    return SalesHistory(
        owner,
        handed,
        tuple(touches),
        bant,
        status="converted",
        reason=rng.choice(LOSS_REASONS) if result == "lost" else None,
        opportunity=result,
        amount=rng.choice((600_000, 1_200_000, 2_400_000, 4_800_000)),
        closed_at=close_at if result != "open" else None,
    )
