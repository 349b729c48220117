//! Seeded, realistic messages: orders, IoT, finance and CI notifications in
//! English and Chinese, with a few terms planted at known rates so the search
//! benchmark has a common and a rare English word and a common Chinese word.
//!
//! Every message starts life as an ntfy `message` frame and is turned into a
//! [`NewMessage`] by Herald's own ntfy parser, so the raw-SQLite path and the
//! engine path store exactly the same values.

use herald_core::model::NewMessage;
use herald_core::source::{ntfy, Parsed};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::herald_bench::error::{Context, Result};

/// Bump when the generator changes, so a cached search corpus is rebuilt.
pub const VERSION: u32 = 2;

/// Planted in ~30 % of messages.
pub const COMMON_EN: &str = "payment";
pub const COMMON_EN_RATE: f64 = 0.30;
/// Planted in ~0.01 % of messages.
pub const RARE_EN: &str = "quarantine";
pub const RARE_EN_RATE: f64 = 0.0001;
/// Planted in half of the Chinese messages (~20 % of all). Its characters
/// appear nowhere else in the vocabulary, so only planted copies match.
pub const COMMON_ZH: &str = "告警";
pub const COMMON_ZH_RATE_IN_CHINESE: f64 = 0.5;
/// One character, searched as a prefix: occurs naturally in 库存, 仓库, 出库…
pub const SINGLE_ZH: &str = "库";

const BASE_TIME: i64 = 1_764_000_000;
const MARKDOWN_TAIL: &str = "\n\n- **status**: open\n- owner: on-call";

#[derive(Clone, Copy)]
enum Theme {
    Orders,
    Iot,
    Finance,
    Ci,
}

const THEMES: [Theme; 4] = [Theme::Orders, Theme::Iot, Theme::Finance, Theme::Ci];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Language {
    English,
    Chinese,
    /// An English title over a Chinese body.
    Mixed,
}

const EN_TITLES: [&[&str]; 4] = [
    &[
        "Order #{n} paid",
        "Order #{n} shipped to {city}",
        "Order #{n} refunded",
        "Order #{n} cancelled by the customer",
        "New order #{n} from {name}",
        "Return request for order #{n}",
        "Order #{n} delayed at {wh}",
    ],
    &[
        "Freezer {k} temperature high",
        "Gateway GW-{k} offline",
        "Sensor {code} battery low",
        "Humidity alarm in greenhouse {letter}",
        "Door sensor {code} opened after hours",
        "Pump {k} vibration above threshold",
    ],
    &[
        "Risk check: unusual transfer",
        "Daily settlement complete",
        "Card decline rate spike",
        "Chargeback received for account ****{nnnn}",
        "Reconciliation mismatch on {channel}",
        "Large withdrawal flagged for review",
    ],
    &[
        "Build #{n} passed",
        "Build #{n} failed on {platform}",
        "Deploy v{version} to production started",
        "Nightly tests flaky on {platform}",
        "Release v{version} tagged",
        "Coverage dropped to {pct}%",
    ],
];

const EN_SENTENCES: [&[&str]; 4] = [
    &[
        "Customer {name} placed {k} items totalling ${amount}.",
        "Shipping via {carrier}, tracking {code}{n}.",
        "Estimated delivery on {day}.",
        "Warehouse {wh} picked the parcel in {k} minutes.",
        "Stock for SKU-{n} dropped to {k} units.",
        "Coupon {code} applied for a discount of ${amount}.",
        "The customer asked for gift wrapping.",
        "Invoice INV-{n} was emailed to the buyer.",
    ],
    &[
        "Reading {temp} °C for {k} minutes (limit -18 °C).",
        "Device firmware v{version}, signal -{k} dBm.",
        "{k} sensors behind this gateway stopped reporting.",
        "Technician on call: {name}.",
        "Last heartbeat at {clock} UTC.",
        "Compressor running, door closed.",
        "The cold room in {wh} has been above its limit twice today.",
    ],
    &[
        "Account ****{nnnn} moved ${amount} to a new beneficiary.",
        "Score {k}/100, rule R-{k} matched.",
        "Settled {n} transactions, net ${amount}.",
        "Declines at {pct}% against a baseline of 1.9%.",
        "Case {n} assigned to the fraud desk.",
        "Ledger balance differs by ${amount} on {channel}.",
    ],
    &[
        "Branch main at {sha}, {n} tests in {k}m {k}s.",
        "Job {job} failed: assertion failed in {module}.",
        "Canary at {pct}% of traffic, error rate 0.{k}%.",
        "Artifacts uploaded to the release bucket.",
        "Triggered by @{user} from pull request #{n}.",
        "Cache hit rate {pct}% for the dependency layer.",
    ],
];

// No 告 or 警 anywhere below: only the planted COMMON_ZH contains them.
const ZH_TITLES: [&[&str]; 4] = [
    &[
        "订单 #{n} 已支付",
        "订单 #{n} 已发货",
        "订单 #{n} 申请退款",
        "订单 #{n} 待发货超时",
        "新订单来自{zcity}",
        "订单 #{n} 已取消",
    ],
    &[
        "冷库{k}号温度过高",
        "网关 GW-{k} 离线",
        "传感器 {code} 电量低",
        "温室{letter}湿度异常",
        "三号楼{k}层烟雾传感器触发",
        "水泵{k}振动超标",
    ],
    &[
        "风控提醒:异地登录",
        "交易对账差异",
        "日终结算完成",
        "大额转账待复核",
        "拒付通知:账户尾号{nnnn}",
        "渠道{zchannel}交易失败率上升",
    ],
    &[
        "构建 #{n} 通过",
        "构建 #{n} 失败",
        "生产环境部署 v{version} 开始",
        "夜间测试不稳定",
        "版本 v{version} 已发布",
        "测试覆盖率下降到{pct}%",
    ],
];

const ZH_SENTENCES: [&[&str]; 4] = [
    &[
        "买家{zname}购买了{k}件商品,合计¥{amount}。",
        "快递{zcarrier},运单号{code}{n}。",
        "预计{zday}送达。",
        "{zcity}仓库已完成拣货,用时{k}分钟。",
        "商品 SKU-{n} 库存剩余{k}件,请及时补货。",
        "优惠券{code}已使用,减免¥{amount}。",
        "出库单已生成,等待揽收。",
    ],
    &[
        "当前读数{temp}°C,持续{k}分钟,上限-18°C。",
        "设备固件 v{version},信号强度-{k} dBm。",
        "该网关下{k}个传感器停止上报。",
        "已通知值班人员{zname}到现场确认。",
        "最后一次心跳时间{clock}。",
        "压缩机运行中,库门已关闭。",
    ],
    &[
        "用户 138****{nnnn} 在{zcity}登录,上次登录地为{zcity}。",
        "今日共结算{n}笔交易,净额¥{amount}。",
        "风险评分{k}分,命中规则 R-{k}。",
        "账户尾号{nnnn}向新收款人转账¥{amount}。",
        "差异{k}笔,合计¥{amount},请财务复核。",
        "数据库对账任务已完成。",
    ],
    &[
        "主分支 {sha},{n}个测试用时{k}分{k}秒。",
        "任务{job}失败:{zmodule}断言错误。",
        "灰度发布{pct}%流量,错误率0.{k}%。",
        "制品已上传到发布仓库。",
        "由@{user}在合并请求 #{n} 触发。",
        "依赖缓存命中率{pct}%。",
    ],
];

const TAGS: [&[&str]; 4] = [
    &["orders", "moneybag", "package", "订单", "shipping"],
    &["iot", "rotating_light", "thermometer", "cold-chain", "设备"],
    &["finance", "risk", "bank", "风控", "对账"],
    &["ci", "x", "white_check_mark", "rocket", "构建"],
];

const HOSTS: [&str; 4] = [
    "shop.example.com/admin/orders",
    "iot.example.com/devices",
    "risk.example.com/cases",
    "ci.example.com/builds",
];

const CITIES: &[&str] = &["Berlin", "Austin", "Lyon", "Osaka", "Toronto", "Leeds"];
const NAMES: &[&str] = &[
    "Alice Chen",
    "Bob Stone",
    "Maria Ruiz",
    "Ken Ito",
    "Priya Nair",
];
const WAREHOUSES: &[&str] = &["Warehouse East", "Hub 7", "DC North", "Cross-dock B"];
const CARRIERS: &[&str] = &["UPS", "DHL", "FedEx", "La Poste"];
const DAYS: &[&str] = &["Monday", "Tuesday", "Thursday", "Friday", "Saturday"];
const CHANNELS: &[&str] = &["Stripe", "Adyen", "SEPA", "ACH"];
const PLATFORMS: &[&str] = &["linux-arm64", "macos-14", "windows-x64", "linux-musl"];
const JOBS: &[&str] = &["unit", "integration", "lint", "e2e-chrome", "package"];
const MODULES: &[&str] = &["store::tests", "source::ntfy", "engine::hub", "search_text"];
const USERS: &[&str] = &["lin", "dana", "ops-bot", "mk", "release-bot"];
const ZH_CITIES: &[&str] = &["上海", "杭州", "深圳", "成都", "乌鲁木齐", "北京"];
const ZH_NAMES: &[&str] = &["张伟", "李娜", "王芳", "刘洋", "陈静"];
const ZH_CARRIERS: &[&str] = &["顺丰", "中通", "圆通", "京东物流"];
const ZH_DAYS: &[&str] = &["明天", "后天", "周五", "本周末"];
const ZH_CHANNELS: &[&str] = &["银联", "微信支付", "支付宝", "网联"];
const ZH_MODULES: &[&str] = &["存储模块", "搜索模块", "网关服务", "结算服务"];

/// Deterministic message generator.
pub struct Generator {
    rng: StdRng,
    next: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            next: 0,
        }
    }

    /// The next ntfy `message` frame, serialized.
    pub fn next_frame(&mut self) -> String {
        let index = self.next;
        self.next += 1;
        self.event(index).to_string()
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.random_range(0..list.len())]
    }

    fn fill(&mut self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let key = &rest[open + 1..open + close];
            let value = match key {
                "n" => self.rng.random_range(10_000..100_000).to_string(),
                "k" => self.rng.random_range(2..60).to_string(),
                "nnnn" => format!("{:04}", self.rng.random_range(0..10_000)),
                "amount" => format!(
                    "{}.{:02}",
                    self.rng.random_range(5..50_000),
                    self.rng.random_range(0..100)
                ),
                "pct" => self.rng.random_range(1..100).to_string(),
                "temp" => format!(
                    "-{}.{}",
                    self.rng.random_range(2..17),
                    self.rng.random_range(0..10)
                ),
                "version" => format!(
                    "{}.{}.{}",
                    self.rng.random_range(1..4),
                    self.rng.random_range(0..40),
                    self.rng.random_range(0..10)
                ),
                "clock" => format!(
                    "{:02}:{:02}",
                    self.rng.random_range(0..24),
                    self.rng.random_range(0..60)
                ),
                "sha" => format!("{:07x}", self.rng.random_range(0..0x1000_0000u32)),
                "code" => {
                    let letters: String = (0..2)
                        .map(|_| char::from(b'A' + self.rng.random_range(0..26u8)))
                        .collect();
                    format!("{letters}{}", self.rng.random_range(1..100))
                }
                "letter" => char::from(b'A' + self.rng.random_range(0..8u8)).to_string(),
                "city" => self.pick(CITIES).to_string(),
                "name" => self.pick(NAMES).to_string(),
                "wh" => self.pick(WAREHOUSES).to_string(),
                "carrier" => self.pick(CARRIERS).to_string(),
                "day" => self.pick(DAYS).to_string(),
                "channel" => self.pick(CHANNELS).to_string(),
                "platform" => self.pick(PLATFORMS).to_string(),
                "job" => self.pick(JOBS).to_string(),
                "module" => self.pick(MODULES).to_string(),
                "user" => self.pick(USERS).to_string(),
                "zcity" => self.pick(ZH_CITIES).to_string(),
                "zname" => self.pick(ZH_NAMES).to_string(),
                "zcarrier" => self.pick(ZH_CARRIERS).to_string(),
                "zday" => self.pick(ZH_DAYS).to_string(),
                "zchannel" => self.pick(ZH_CHANNELS).to_string(),
                "zmodule" => self.pick(ZH_MODULES).to_string(),
                other => other.to_string(),
            };
            out.push_str(&value);
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Sentences from `pool` until `target` characters, cut to exactly that.
    fn text(&mut self, pool: &[&str], chinese: bool, target: usize, first: String) -> String {
        let mut text = first;
        let mut length = text.chars().count();
        while length < target {
            let template = self.pick(pool);
            let sentence = self.fill(template);
            if !text.is_empty() && !chinese {
                text.push(' ');
                length += 1;
            }
            length += sentence.chars().count();
            text.push_str(&sentence);
        }
        truncate_chars(&mut text, target);
        // A cut that ends on a space would be trimmed by readers; end on a
        // full stop instead, so the length stays exactly `target`.
        if text.ends_with(char::is_whitespace) {
            text.pop();
            text.push('.');
        }
        text
    }

    /// Inserts `word` at a word boundary (English) or sentence boundary
    /// (Chinese) of `text`, spaced so it is always a separate token.
    fn plant(&mut self, text: &mut String, word: &str) {
        let boundaries: Vec<usize> = text
            .char_indices()
            .filter(|&(_, character)| character == ' ' || character == '。')
            .map(|(at, character)| at + character.len_utf8())
            .collect();
        let at = if boundaries.is_empty() {
            text.len()
        } else {
            boundaries[self.rng.random_range(0..boundaries.len())]
        };
        text.insert_str(at, &format!(" {word} "));
    }

    fn event(&mut self, index: u64) -> Value {
        let theme = THEMES[self.rng.random_range(0..THEMES.len())];
        let slot = theme as usize;
        let language = match self.rng.random_range(0..100) {
            0..55 => Language::English,
            55..90 => Language::Chinese,
            _ => Language::Mixed,
        };
        // Decide what gets planted first, so the final lengths stay in range.
        let plant_common = self.rng.random_bool(COMMON_EN_RATE);
        let plant_rare = self.rng.random_bool(RARE_EN_RATE);
        let body_is_chinese = language != Language::English;
        let plant_zh = body_is_chinese && self.rng.random_bool(COMMON_ZH_RATE_IN_CHINESE);
        let zh_in_title = plant_zh && self.rng.random_bool(0.3);
        let markdown = self.rng.random_bool(0.3);
        let zh_title_mark = format!("【{COMMON_ZH}】");
        let zh_body_note = format!("已发出{COMMON_ZH}通知。");
        let title_extra_chars = if zh_in_title { 4 } else { 0 };
        let body_extra_chars = usize::from(plant_common) * (COMMON_EN.len() + 2)
            + usize::from(plant_rare) * (RARE_EN.len() + 2)
            + usize::from(plant_zh && !zh_in_title) * (zh_body_note.chars().count() + 2)
            + usize::from(markdown) * MARKDOWN_TAIL.chars().count();
        let title_target = self.rng.random_range(20..=60) - title_extra_chars;
        let body_target = self
            .rng
            .random_range((80usize).max(body_extra_chars + 40)..=400)
            - body_extra_chars;
        let title_is_chinese = language == Language::Chinese;
        let (title_pool, title_extra) = if title_is_chinese {
            (ZH_TITLES[slot], ZH_SENTENCES[slot])
        } else {
            (EN_TITLES[slot], EN_SENTENCES[slot])
        };
        let title_first = {
            let template = self.pick(title_pool);
            self.fill(template)
        };
        let mut title = self.text(title_extra, title_is_chinese, title_target, title_first);
        let body_pool = if body_is_chinese {
            ZH_SENTENCES[slot]
        } else {
            EN_SENTENCES[slot]
        };
        let mut body = self.text(body_pool, body_is_chinese, body_target, String::new());
        if plant_common {
            self.plant(&mut body, COMMON_EN);
        }
        if plant_rare {
            self.plant(&mut body, RARE_EN);
        }
        if zh_in_title {
            title.insert_str(0, &zh_title_mark);
        } else if plant_zh {
            self.plant(&mut body, &zh_body_note);
        }
        if markdown {
            body.push_str(MARKDOWN_TAIL);
        }
        let priority: Option<i64> = match self.rng.random_range(0..100) {
            0..5 => Some(1),
            5..20 => Some(2),
            20..50 => Some(3),
            50..75 => None, // ntfy leaves out the default priority
            75..92 => Some(4),
            _ => Some(5),
        };
        let tag_count = self.rng.random_range(0..=3);
        let mut tags: Vec<&str> = Vec::new();
        for _ in 0..tag_count {
            let tag = self.pick(TAGS[slot]);
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        let time = BASE_TIME + (index as i64) / 20;
        let mut event = json!({
            "id": remote_id(index, self.rng.random()),
            "time": time,
            "expires": time + 43_200,
            "event": "message",
            "topic": "bench",
            "title": title,
            "message": body,
        });
        if let Some(priority) = priority {
            event["priority"] = json!(priority);
        }
        if !tags.is_empty() {
            event["tags"] = json!(tags);
        }
        if self.rng.random_bool(0.2) {
            let click = format!(
                "https://{}/{}",
                HOSTS[slot],
                self.rng.random_range(10_000..100_000)
            );
            if self.rng.random_bool(0.5) {
                event["actions"] = json!([{ "action": "view", "label": "Open", "url": click }]);
            }
            event["click"] = json!(click);
        }
        if self.rng.random_bool(0.02) {
            event["attachment"] = json!({
                "name": format!("report-{index}.pdf"),
                "type": "application/pdf",
                "size": self.rng.random_range(10_000..2_000_000),
                "expires": time + 10_800,
                "url": format!("https://ntfy.example.com/file/{index}.pdf"),
            });
        }
        if markdown {
            event["content_type"] = json!("text/markdown");
        }
        event
    }
}

/// An ntfy-style 12-character id: 5 random characters, then the index in
/// base 62, so ids are unique without looking sequential.
fn remote_id(index: u64, noise: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = Vec::with_capacity(12);
    let mut value = index;
    for _ in 0..7 {
        id.push(ALPHABET[(value % 62) as usize]);
        value /= 62;
    }
    let mut noise = noise;
    for _ in 0..5 {
        id.push(ALPHABET[(noise % 62) as usize]);
        noise /= 62;
    }
    id.reverse();
    String::from_utf8(id).unwrap_or_default()
}

fn truncate_chars(text: &mut String, max: usize) {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
    }
}

/// Parses a frame with Herald's ntfy adapter.
pub fn parse(frame: &str) -> Result<NewMessage> {
    match ntfy::parse(frame) {
        Ok(Parsed::Messages(mut messages)) if messages.len() == 1 => {
            messages.pop().context("no message")
        }
        Ok(_) => bail!("generated frame is not one message: {frame}"),
        Err(error) => bail!("generated frame does not parse ({error}): {frame}"),
    }
}

/// `count` frames and the messages Herald's parser makes of them.
pub fn build(seed: u64, count: usize) -> Result<(Vec<String>, Vec<NewMessage>)> {
    let mut generator = Generator::new(seed);
    let mut frames = Vec::with_capacity(count);
    let mut messages = Vec::with_capacity(count);
    for _ in 0..count {
        let frame = generator.next_frame();
        messages.push(parse(&frame)?);
        frames.push(frame);
    }
    Ok((frames, messages))
}

/// Averages for the report: title chars, body chars, frame bytes, and the
/// share of messages with a click URL, tags and Chinese text.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Shape {
    pub title_chars: f64,
    pub body_chars: f64,
    pub frame_bytes: f64,
    pub with_click: f64,
    pub with_tags: f64,
    pub with_chinese: f64,
    pub title_min: usize,
    pub title_max: usize,
    pub body_min: usize,
    pub body_max: usize,
}

pub fn shape(frames: &[String], messages: &[NewMessage]) -> Shape {
    let count = messages.len().max(1) as f64;
    let chars = |text: &str| text.chars().count();
    let titles: Vec<usize> = messages.iter().map(|m| chars(&m.title)).collect();
    let bodies: Vec<usize> = messages.iter().map(|m| chars(&m.body)).collect();
    let chinese = messages
        .iter()
        .filter(|m| {
            m.body
                .chars()
                .chain(m.title.chars())
                .any(herald_core::search_text::is_cjk)
        })
        .count();
    Shape {
        title_chars: titles.iter().sum::<usize>() as f64 / count,
        body_chars: bodies.iter().sum::<usize>() as f64 / count,
        frame_bytes: frames.iter().map(String::len).sum::<usize>() as f64 / count,
        with_click: messages.iter().filter(|m| m.click.is_some()).count() as f64 / count,
        with_tags: messages.iter().filter(|m| !m.tags.is_empty()).count() as f64 / count,
        with_chinese: chinese as f64 / count,
        title_min: titles.iter().copied().min().unwrap_or(0),
        title_max: titles.iter().copied().max().unwrap_or(0),
        body_min: bodies.iter().copied().min().unwrap_or(0),
        body_max: bodies.iter().copied().max().unwrap_or(0),
    }
}
