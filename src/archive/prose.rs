//! Support mail a person could read in a demo: sentences from templates
//! whose slots draw from a long-tailed lexicon of tens of thousands of
//! words (brands and models, surnames, towns, streets, error codes, log
//! modules, order and tracking numbers), each list drawn Zipf-like so a few
//! names are everywhere and most are rare, as in a real archive.
//!
//! The lexicon is the same for every archive (built from a fixed seed);
//! which names a case uses comes from the archive's own seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};

use super::vocabulary::{CATEGORIES, CITIES, FIRST_NAMES, LAST_NAMES, STREETS, TOPICS};

/// Draws indexes into a list of `len` items, the first most often.
struct Skewed {
    len: usize,
    zipf: Zipf<f64>,
}

impl Skewed {
    fn new(len: usize, exponent: f64) -> Skewed {
        Skewed {
            len,
            zipf: Zipf::new(len as f64, exponent).expect("valid Zipf parameters"),
        }
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> usize {
        (self.zipf.sample(rng) as usize)
            .saturating_sub(1)
            .min(self.len - 1)
    }
}

const BRAND_HEADS: &[&str] = &[
    "Vel", "Zen", "Aer", "Bri", "Cor", "Dax", "Elo", "Fen", "Gal", "Hal", "Ira", "Jor", "Kal",
    "Lum", "Mar", "Nov", "Orb", "Pax", "Qui", "Ros", "Sol", "Tor", "Ula", "Vor", "Wex", "Xan",
    "Yor", "Zyl", "Alt", "Bex", "Cyr", "Dre", "Eko", "Fir", "Gry", "Hex", "Ion", "Jux", "Kor",
    "Lyn",
];
const BRAND_TAILS: &[&str] = &[
    "ora", "ix", "ax", "eon", "ia", "tek", "line", "wave", "nova", "ra", "tron", "vo", "io", "ex",
    "um", "is", "on", "ar", "ent", "ico", "ly", "go", "max", "pod", "net", "core", "ify", "sys",
    "lab", "ware", "flux", "dot", "bit", "zone", "hub", "port", "mark", "form", "ista", "ence",
];
/// What the shop sells; a brand makes a few of them.
const KINDS: &[&str] = &[
    "router",
    "printer",
    "laptop",
    "headset",
    "thermostat",
    "camera",
    "vacuum",
    "kettle",
    "scooter",
    "monitor",
    "speaker",
    "tablet",
    "phone",
    "smartwatch",
    "doorbell",
    "dishwasher",
    "drone",
    "projector",
    "keyboard",
    "mouse",
    "charger",
    "e-reader",
    "coffee machine",
    "air purifier",
    "baby monitor",
    "dashcam",
    "power bank",
    "soundbar",
    "webcam",
    "mesh system",
];
const SURNAME_HEADS: &[&str] = &[
    "Ash", "Berg", "Black", "Brook", "Cal", "Dal", "Fair", "Glen", "Gold", "Hart", "Hol", "Kirk",
    "Lang", "Lind", "Mor", "Nor", "Oak", "Pem", "Rad", "Ros", "Sand", "Stan", "Thorn", "Wal",
    "Wester", "Win", "Alden", "Brenn", "Castel", "Dorn", "Eber", "Falk", "Gers", "Hoff", "Jans",
    "Kessel", "Lorn", "Mahl", "Ness", "Ostr", "Prell", "Quast", "Rein", "Schell", "Tams", "Ulm",
    "Vogt", "Wend", "Zell", "Ferr",
];
const SURNAME_TAILS: &[&str] = &[
    "ley", "man", "son", "wood", "field", "ford", "well", "by", "ton", "ham", "er", "inger",
    "mann", "berg", "stein", "ström", "sen", "ard", "ini", "etti", "escu", "ova", "ak", "ić", "ez",
    "ers", "horst", "ridge", "more", "worth", "ling", "ke", "sky", "gaard", "lund", "holm",
    "ville", "ot", "eau", "ero",
];
const TOWN_HEADS: &[&str] = &[
    "Ash", "Bal", "Bran", "Carr", "Dun", "Eas", "Fal", "Glas", "Had", "Ing", "Kel", "Lang", "Mid",
    "New", "Old", "Pen", "Ray", "Sal", "Tam", "Up", "Wal", "Wes", "Ald", "Bex", "Cor", "Dor",
    "Elm", "Frei", "Gries", "Hoch", "Kirch", "Lieb", "Mar", "Neu", "Ober", "Rott", "Stein", "Tal",
    "Wald", "Sainte", "Mont", "Ville", "Puerto", "San", "Vila", "Nord", "Sud", "Lin", "Ros", "Hel",
];
const TOWN_TAILS: &[&str] = &[
    "ford", "ham", "ton", "bury", "wick", "by", "field", "stead", "mouth", "bridge", "burg",
    "dorf", "hausen", "heim", "stadt", "feld", "ville", "mont", "court", "sur-Mer", "ona", "ares",
    "holm", "vik", "stad",
];
const STREET_KINDS: &[&str] = &[
    "Street", "Road", "Lane", "Avenue", "Close", "Way", "Straße", "Weg", "Gasse", "Rue",
];
const MODULES: &[&str] = &[
    "net",
    "sync",
    "auth",
    "ui",
    "storage",
    "update",
    "print",
    "audio",
    "video",
    "power",
    "usb",
    "bt",
    "wifi",
    "dns",
    "tls",
    "db",
    "cache",
    "scheduler",
    "billing",
    "firmware",
];
const TEAMS: &[&str] = &[
    "billing",
    "logistics",
    "technical",
    "returns",
    "accounts",
    "repairs",
    "network",
    "sales",
];
const PLANS: &[&str] = &["Basic", "Plus", "Pro", "Family", "Business", "Student"];
const WEEKDAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One product line: a brand's kind of device and its models.
struct Product {
    brand: usize,
    kind: &'static str,
    models: Vec<String>,
}

/// The long-tailed names sentences draw from.
pub struct Lexicon {
    brands: Vec<String>,
    products: Vec<Product>,
    surnames: Vec<String>,
    towns: Vec<String>,
    streets: Vec<String>,
    product_draw: Skewed,
    surname_draw: Skewed,
    town_draw: Skewed,
    street_draw: Skewed,
    error_draw: Skewed,
    module_draw: Skewed,
}

/// Every pair of a head and a tail, shuffled so alphabetical neighbours
/// are not equally frequent.
fn compose(heads: &[&str], tails: &[&str], rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut names: Vec<String> = heads
        .iter()
        .flat_map(|h| tails.iter().map(move |t| format!("{h}{t}")))
        .collect();
    for i in (1..names.len()).rev() {
        names.swap(i, rng.random_range(0..=i));
    }
    names.dedup();
    names
}

impl Lexicon {
    pub fn new() -> Lexicon {
        let mut rng = ChaCha8Rng::seed_from_u64(0x00d0_c4e7);
        let brands = compose(BRAND_HEADS, BRAND_TAILS, &mut rng);
        let mut products = Vec::new();
        for (brand, name) in brands.iter().enumerate() {
            for _ in 0..rng.random_range(1..=3) {
                let kind = KINDS[rng.random_range(0..KINDS.len())];
                let initials: String = name.chars().take(2).collect::<String>().to_uppercase();
                let models = (0..rng.random_range(2..=5))
                    .map(|_| format!("{initials}{}", rng.random_range(100..10_000)))
                    .collect();
                products.push(Product {
                    brand,
                    kind,
                    models,
                });
            }
        }
        let mut surnames = compose(SURNAME_HEADS, SURNAME_TAILS, &mut rng);
        surnames.extend(LAST_NAMES.iter().map(|s| s.to_string()));
        let mut towns = compose(TOWN_HEADS, TOWN_TAILS, &mut rng);
        towns.extend(CITIES.iter().map(|s| s.to_string()));
        let mut streets: Vec<String> = compose(SURNAME_HEADS, &["", "ing", "er"], &mut rng)
            .into_iter()
            .flat_map(|name| {
                STREET_KINDS
                    .iter()
                    .map(move |kind| format!("{name} {kind}"))
            })
            .collect();
        streets.extend(STREETS.iter().map(|s| s.to_string()));
        Lexicon {
            product_draw: Skewed::new(products.len(), 1.05),
            surname_draw: Skewed::new(surnames.len(), 1.0),
            town_draw: Skewed::new(towns.len(), 1.0),
            street_draw: Skewed::new(streets.len(), 0.9),
            error_draw: Skewed::new(9_000, 1.1),
            module_draw: Skewed::new(MODULES.len(), 1.0),
            brands,
            products,
            surnames,
            towns,
            streets,
        }
    }

    fn error_code(&self, rng: &mut ChaCha8Rng) -> String {
        // Codes are scattered over the range so the common ones differ
        // from archive to archive only by seed, not by position.
        let rank = self.error_draw.draw(rng) as u64;
        format!("E{}", 1000 + (rank * 7919) % 9000)
    }
}

impl Default for Lexicon {
    fn default() -> Self {
        Lexicon::new()
    }
}

/// What one case is about: the names its messages keep coming back to.
pub struct Subject {
    pub topic: usize,
    first: String,
    agent_first: String,
    product: usize,
    model: String,
    town: String,
    error: String,
    order: String,
    tracking: String,
    serial: String,
    version: String,
    amount: String,
    plan: &'static str,
    /// Another language the customer writes in, if not English.
    pub language: Option<usize>,
}

impl Subject {
    pub fn new(
        lexicon: &Lexicon,
        topic: usize,
        customer_first: &str,
        agent_first: &str,
        rng: &mut ChaCha8Rng,
    ) -> Subject {
        let product = lexicon.product_draw.draw(rng);
        let models = &lexicon.products[product].models;
        Subject {
            topic,
            first: customer_first.to_owned(),
            agent_first: agent_first.to_owned(),
            model: models[rng.random_range(0..models.len())].clone(),
            product,
            town: lexicon.towns[lexicon.town_draw.draw(rng)].clone(),
            error: lexicon.error_code(rng),
            order: format!("ORD-{:07}", rng.random_range(0..10_000_000)),
            tracking: format!(
                "{}{:09}{}",
                ["JD", "RR", "CX", "LP", "UA"][rng.random_range(0..5)],
                rng.random_range(0..1_000_000_000u64),
                ["GB", "DE", "FR", "NL", "ES"][rng.random_range(0..5)]
            ),
            serial: format!("SN-{:08}", rng.random_range(0..100_000_000)),
            version: format!(
                "{}.{}.{}",
                rng.random_range(2..7),
                rng.random_range(0..12),
                rng.random_range(0..20)
            ),
            amount: format!(
                "€{}.{:02}",
                rng.random_range(5..400),
                [0, 9, 49, 50, 90, 95, 99][rng.random_range(0..7)]
            ),
            plan: PLANS[rng.random_range(0..PLANS.len())],
            // Bulk mail is in English; one customer in twenty is not.
            language: (CATEGORIES[topic] != "spam" && rng.random_ratio(1, 20))
                .then(|| rng.random_range(0..FOREIGN_CUSTOMER.len())),
        }
    }

    /// A short line for the case list: what the customer would type.
    pub fn title(&self, lexicon: &Lexicon, rng: &mut ChaCha8Rng) -> String {
        let templates = SUBJECTS[self.topic];
        let template = templates[rng.random_range(0..templates.len())];
        let mut out = String::new();
        fill(template, self, lexicon, rng, &mut out);
        out
    }
}

/// Who writes a message, which decides its sentences.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    Customer,
    Agent,
    Note,
}

/// Appends one sentence in `voice` to `out`, avoiding the templates in
/// `used` (a person does not repeat a sentence in one message) and adding
/// its own.
pub fn sentence(
    voice: Voice,
    subject: &Subject,
    lexicon: &Lexicon,
    rng: &mut ChaCha8Rng,
    used: &mut Vec<&'static str>,
    out: &mut String,
) {
    let mut template = draw_template(voice, subject, rng);
    for _ in 0..6 {
        if !used.contains(&template) {
            break;
        }
        template = draw_template(voice, subject, rng);
    }
    used.push(template);
    fill(template, subject, lexicon, rng, out);
    out.push(' ');
}

fn draw_template(voice: Voice, subject: &Subject, rng: &mut ChaCha8Rng) -> &'static str {
    match voice {
        Voice::Customer => match subject.language {
            Some(language) => pick(FOREIGN_CUSTOMER[language], rng),
            None => match rng.random_range(0..100) {
                0..=44 => pick(TOPIC_SENTENCES[subject.topic], rng),
                _ => pick(CUSTOMER_SENTENCES, rng),
            },
        },
        Voice::Agent => match rng.random_range(0..100) {
            0..=34 => pick(AGENT_TOPIC_SENTENCES[subject.topic], rng),
            _ => pick(AGENT_SENTENCES, rng),
        },
        Voice::Note => pick(NOTE_SENTENCES, rng),
    }
}

/// How a pasted log or report is introduced.
pub fn log_heading(subject: &Subject, lexicon: &Lexicon, rng: &mut ChaCha8Rng) -> String {
    let mut out = String::new();
    fill(pick(LOG_HEADINGS, rng), subject, lexicon, rng, &mut out);
    out
}

/// One line of a log pasted into a message: long messages are long
/// because of these, not because people repeat themselves.
pub fn log_line(subject: &Subject, lexicon: &Lexicon, rng: &mut ChaCha8Rng, out: &mut String) {
    fill(pick(LOG_LINES, rng), subject, lexicon, rng, out);
    out.push('\n');
}

/// How a message in `voice` opens.
pub fn greeting(voice: Voice, subject: &Subject, rng: &mut ChaCha8Rng) -> String {
    match (voice, subject.language) {
        (Voice::Customer, Some(language)) => FOREIGN_GREETINGS[language].to_owned(),
        (Voice::Customer, None) => match rng.random_range(0..4) {
            0 => format!("Hi {},", subject.agent_first),
            1 => "Dear support team,".to_owned(),
            2 => "Hello,".to_owned(),
            _ => "Hi there,".to_owned(),
        },
        (Voice::Agent, _) => match rng.random_range(0..3) {
            0 => format!("Hello {},", subject.first),
            1 => format!("Hi {},", subject.first),
            _ => format!("Dear {},", subject.first),
        },
        (Voice::Note, _) => String::new(),
    }
}

/// How a message in `voice` signs off (before the signature).
pub fn closing(voice: Voice, rng: &mut ChaCha8Rng) -> &'static str {
    match voice {
        Voice::Customer => pick(
            &[
                "Thanks in advance.",
                "Thank you.",
                "Many thanks.",
                "Looking forward to your reply.",
                "Best regards.",
            ],
            rng,
        ),
        Voice::Agent => pick(
            &[
                "Kind regards,",
                "Best wishes,",
                "Thank you for your patience,",
                "Regards,",
            ],
            rng,
        ),
        Voice::Note => "",
    }
}

fn pick<T: Copy>(items: &[T], rng: &mut ChaCha8Rng) -> T {
    items[rng.random_range(0..items.len())]
}

/// Writes `template` with its `{slot}`s filled.
fn fill(
    template: &str,
    subject: &Subject,
    lexicon: &Lexicon,
    rng: &mut ChaCha8Rng,
    out: &mut String,
) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let slot = &rest[open + 1..open + close];
        slot_value(slot, subject, lexicon, rng, out);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
}

fn slot_value(
    slot: &str,
    subject: &Subject,
    lexicon: &Lexicon,
    rng: &mut ChaCha8Rng,
    out: &mut String,
) {
    let product = &lexicon.products[subject.product];
    let brand = &lexicon.brands[product.brand];
    match slot {
        "first" => out.push_str(&subject.first),
        "agent" => out.push_str(&subject.agent_first),
        "item" => {
            out.push_str(brand);
            out.push(' ');
            out.push_str(product.kind);
        }
        "brand" => out.push_str(brand),
        "kind" => out.push_str(product.kind),
        "model" => out.push_str(&subject.model),
        "other_model" => out.push_str(&product.models[rng.random_range(0..product.models.len())]),
        "order" => out.push_str(&subject.order),
        "tracking" => out.push_str(&subject.tracking),
        "serial" => out.push_str(&subject.serial),
        "error" => out.push_str(&subject.error),
        "any_error" => out.push_str(&lexicon.error_code(rng)),
        "version" => out.push_str(&subject.version),
        "amount" => out.push_str(&subject.amount),
        "plan" => out.push_str(subject.plan),
        "town" => out.push_str(&subject.town),
        "other_town" => out.push_str(&lexicon.towns[lexicon.town_draw.draw(rng)]),
        "surname" => out.push_str(&lexicon.surnames[lexicon.surname_draw.draw(rng)]),
        "street" => {
            out.push_str(&rng.random_range(1..300).to_string());
            out.push(' ');
            out.push_str(&lexicon.streets[lexicon.street_draw.draw(rng)]);
        }
        "module" => out.push_str(MODULES[lexicon.module_draw.draw(rng)]),
        "team" => out.push_str(pick(TEAMS, rng)),
        "weekday" => out.push_str(pick(WEEKDAYS, rng)),
        "date" => {
            out.push_str(&rng.random_range(1..29).to_string());
            out.push(' ');
            out.push_str(pick(MONTHS, rng));
        }
        "time" => out.push_str(&format!(
            "{:02}:{:02}:{:02}",
            rng.random_range(0..24),
            rng.random_range(0..60),
            rng.random_range(0..60)
        )),
        "n" => out.push_str(&rng.random_range(2..15).to_string()),
        "many" => out.push_str(&(rng.random_range(2..40) * 5).to_string()),
        "topic" => out.push_str(pick(TOPICS[subject.topic], rng)),
        "name" => out.push_str(pick(FIRST_NAMES, rng)),
        other => {
            debug_assert!(false, "unknown slot {other}");
            out.push_str(other);
        }
    }
}

/// Case subjects per topic, in `CATEGORIES` order.
const SUBJECTS: &[&[&str]] = &[
    // billing
    &[
        "Charged twice this month",
        "Question about invoice for {order}",
        "Wrong amount on my {plan} plan invoice",
        "VAT receipt needed",
        "Direct debit failed",
        "Price went up at renewal",
        "Invoice shows {amount}",
    ],
    // shipping
    &[
        "Where is my parcel?",
        "Order {order} not delivered",
        "Tracking number {tracking} shows no update",
        "Parcel delivered to the wrong address",
        "Delivery to {town} delayed",
        "Change delivery address for {order}",
        "Package stuck in customs",
    ],
    // login
    &[
        "Cannot sign in",
        "Password reset link expired",
        "Two-factor code rejected",
        "Account locked",
        "Login loop after update",
        "Access denied with single sign-on",
    ],
    // hardware
    &[
        "{item} screen flickering",
        "{item} battery drains fast",
        "{item} ({model}) will not power on",
        "Loud fan noise from {item}",
        "Paper jam in {item}",
        "Cracked hinge on {model}",
        "Charging port loose",
    ],
    // software
    &[
        "App crashes with error {error}",
        "Update to {version} broke sync",
        "Error {error} after update",
        "{brand} app freezes on start",
        "Installer fails at 80%",
        "Settings lost after upgrade to {version}",
    ],
    // refund
    &[
        "Refund for order {order}",
        "Still waiting for my refund",
        "Refund of {amount} not received",
        "Chargeback question",
        "Returned {item}, no money back yet",
    ],
    // account
    &[
        "Change the email on my account",
        "Delete my account",
        "Merge two accounts",
        "Update my name and address",
        "Who can see my account data?",
    ],
    // network
    &[
        "{item} keeps dropping Wi-Fi",
        "No internet since {weekday}",
        "Router {model} shows error {error}",
        "Slow connection in {town}",
        "VPN disconnects",
    ],
    // warranty
    &[
        "Warranty claim for {item}",
        "Is my {model} still under warranty?",
        "Warranty replacement request",
        "Extend warranty for {item}",
    ],
    // feedback
    &[
        "Great service",
        "Suggestion for the {brand} app",
        "Feedback on my last order",
        "Thank you to {agent}",
        "Idea: dark mode for {kind}",
    ],
    // spam
    &[
        "Congratulations, you have won",
        "Exclusive offer just for you",
        "Limited time offer: 90% off",
        "Re: your business proposal",
        "Important: claim your reward",
        "Boost your followers today",
    ],
    // sales
    &[
        "Quote for {many} {kind}s",
        "Volume discount for our office in {town}",
        "Demo of {brand} for our team",
        "Reseller enquiry",
        "Pricing for {many} licences",
    ],
];

/// What customers write about each topic, in `CATEGORIES` order.
const TOPIC_SENTENCES: &[&[&str]] = &[
    // billing
    &[
        "I was charged twice for my {plan} plan this month.",
        "The invoice for order {order} says {amount}, but the price on your website was lower.",
        "Could you send me a VAT receipt for my last payment?",
        "My direct debit failed and now my balance shows {amount}.",
        "Why did the price of my subscription go up at renewal?",
        "The annual fee was taken from my card although I switched to monthly billing.",
        "Please explain the amount on my statement from {date}.",
        "I think I have been overcharged; my bank statement shows {amount} twice.",
    ],
    // shipping
    &[
        "My parcel with tracking number {tracking} has been in transit since {date}.",
        "Order {order} was dispatched on {date} and still has not arrived.",
        "The courier says the package was delivered, but nothing is on my doorstep.",
        "Can you change the delivery address to {street}, {town}?",
        "The tracking page has not changed for a week.",
        "The parcel was signed for by someone called {surname}, whom I do not know.",
        "Is the delay because of customs?",
        "The label says {other_town} instead of {town}.",
    ],
    // login
    &[
        "I cannot sign in since I reset my password.",
        "The two-factor code from my authenticator app is always rejected.",
        "My account is locked after too many attempts.",
        "The verification link in your email has already expired.",
        "I get access denied when I log in with single sign-on.",
        "The login page keeps sending me back to the start.",
        "I no longer have the phone my codes were on.",
        "The captcha never accepts my answer.",
    ],
    // hardware
    &[
        "The screen of my {item} started flickering after two weeks.",
        "The battery of my {item} drains in under an hour.",
        "The fan is very loud and the device gets hot.",
        "The charging port is loose and the cable falls out.",
        "The hinge of my {model} cracked when I opened it.",
        "My {item} will not power on, even after charging all night.",
        "There is a paper jam that I cannot clear, although the tray is empty.",
        "One of the buttons on the {kind} stopped working.",
    ],
    // software
    &[
        "Since updating the app to version {version} it crashes on start with error {error}.",
        "Sync between my phone and the {brand} app stopped working.",
        "The installer stops at 80% with error {error}.",
        "After the upgrade the settings page is empty.",
        "The plugin is not compatible with version {version}.",
        "The app freezes whenever I open the history screen.",
        "Every restart brings back the old settings.",
        "The download of the new release never finishes.",
    ],
    // refund
    &[
        "I returned the {item} on {date} and I am still waiting for my refund.",
        "Please refund the {amount} you charged for a cancelled order.",
        "My bank says the chargeback is still open.",
        "When will the money be credited back to my card?",
        "You confirmed the return of order {order}, but no refund has arrived.",
        "I was promised a refund within five days; it has been three weeks.",
        "Can I get the refund as store credit instead?",
    ],
    // account
    &[
        "Please change the email address on my account.",
        "How do I delete my account and everything you hold about me?",
        "I have two accounts by mistake and would like them merged.",
        "I want to update my name and the billing address on my account.",
        "Please add my colleague {surname} as a second user on our account.",
        "Can you tell me which personal data you keep?",
    ],
    // network
    &[
        "My {item} drops the Wi-Fi connection every few minutes.",
        "The router {model} shows error {error} and there is no internet.",
        "The VPN disconnects whenever I switch networks.",
        "Speeds in {town} are far below what my plan promises.",
        "Devices on the mesh network cannot see each other.",
        "The connection stops every evening around eight.",
    ],
    // warranty
    &[
        "My {item} ({model}, serial {serial}) stopped working after eleven months; is it still under warranty?",
        "I need a warranty replacement for a {kind} that died.",
        "Can I extend the warranty of my {item}?",
        "The repair shop in {town} says the fault is covered by the warranty.",
        "Does the warranty cover the battery of the {model}?",
    ],
    // feedback
    &[
        "I just wanted to say the new {brand} app is much better.",
        "{agent} from your team was really helpful last week.",
        "It would be great if the {kind} had a dark mode.",
        "Suggestion: let us download invoices as PDF.",
        "The delivery was quicker than promised, thank you.",
        "Your instructions for the {model} could be clearer.",
    ],
    // spam
    &[
        "Congratulations! You have been selected for an exclusive offer.",
        "Buy now and get 90% off, limited time offer.",
        "Dear friend, I have a business proposal that will make us both rich.",
        "Claim your free gift card today, just click the link.",
        "Boost your followers and likes overnight with our service.",
        "To unsubscribe from these offers reply STOP.",
        "Our crypto giveaway ends tonight, do not miss it.",
    ],
    // sales
    &[
        "We would like a quote for {many} units of the {item} for our office in {town}.",
        "Do you offer volume discounts for {many} licences?",
        "Can we book a demo of {brand} next {weekday}?",
        "We are a reseller in {town} and would like to stock the {model}.",
        "Who is our account manager for the region around {town}?",
        "Please send pricing for the {plan} plan for a team of {many}.",
    ],
];

/// What customers write whatever the topic.
const CUSTOMER_SENTENCES: &[&str] = &[
    "I hope you can help me.",
    "I have already tried restarting it twice.",
    "This is the third time I am writing about this.",
    "Please let me know what I should do next.",
    "I bought it at your shop in {town}.",
    "My neighbour {surname} has the same problem with the {kind}.",
    "I am available by phone on {weekday} afternoons.",
    "It worked fine until {date}.",
    "I have attached a photo.",
    "Nobody answered when I called the hotline.",
    "I need this sorted out before {weekday}, please.",
    "The model number on the box is {model}.",
    "My order number is {order}.",
    "I have been a customer for years and this has never happened before.",
    "Is there anything I can try myself?",
    "Your website says something different.",
    "My {kind} is made by {brand}, if that matters.",
    "I live in {town}.",
    "The problem is about the {topic}, as I wrote before.",
    "The {kind} showed {error} again this morning.",
    "Could you please check this for me?",
    "Thank you for your quick reply.",
    "Unfortunately the problem is still there.",
    "I followed the steps you sent, but nothing changed.",
];

/// What introduces a pasted log.
const LOG_HEADINGS: &[&str] = &[
    "Here is the log from the {kind}:",
    "This is what the diagnostics page shows:",
    "I copied the last lines of the log file:",
    "The device log from today:",
    "Log excerpt ({model}, firmware {version}):",
];

/// Lines of a device or app log.
const LOG_LINES: &[&str] = &[
    "{time} ERROR {module}: {any_error} connection reset by peer",
    "{time} WARN {module}: retrying after {any_error}",
    "{time} INFO {module}: firmware {version} on {other_model}",
    "{time} ERROR {module}: timeout after {many} ms",
    "{time} INFO {module}: started, config loaded",
    "{time} WARN {module}: signal weak, channel {n}",
    "{time} ERROR {module}: checksum mismatch in block {many}",
    "{time} INFO {module}: user session opened",
    "{time} DEBUG {module}: queue length {many}",
    "{time} ERROR {module}: {any_error} certificate expired",
    "{time} INFO {module}: sync finished, {many} items",
    "{time} WARN {module}: battery at {n} percent",
];

/// What agents write about each topic, in `CATEGORIES` order.
const AGENT_TOPIC_SENTENCES: &[&[&str]] = &[
    // billing
    &[
        "I have checked your invoices and corrected the amount.",
        "The second payment of {amount} has been cancelled.",
        "You will find the VAT receipt attached.",
    ],
    // shipping
    &[
        "Your order {order} left our warehouse on {date}.",
        "I have asked the carrier to trace the parcel {tracking}.",
        "The delivery address has been updated.",
    ],
    // login
    &[
        "I have unlocked your account; please reset your password once more.",
        "I have removed the old two-factor device from your account.",
        "Please use the new sign-in link we just sent.",
    ],
    // hardware
    &[
        "Please hold the power button for ten seconds to reset the {kind}.",
        "We will send you a prepaid label so you can return the {item} for repair.",
        "A replacement {kind} is on its way.",
    ],
    // software
    &[
        "Error {error} usually means the firmware is out of date; please update to version {version}.",
        "Please reinstall the app and sign in again.",
        "Our developers have fixed this in the next release.",
    ],
    // refund
    &[
        "I have issued a refund of {amount}; it should reach your card within {n} working days.",
        "The refund for order {order} was sent on {date}.",
        "Your bank may take a few days to show the money.",
    ],
    // account
    &[
        "I have updated the details on your account.",
        "Your account will be deleted within {n} days.",
        "The two accounts have been merged.",
    ],
    // network
    &[
        "Please restart the router and wait two minutes before connecting.",
        "We see no outage in {town} at the moment.",
        "Please try the 5 GHz network instead.",
    ],
    // warranty
    &[
        "Your {item} is covered by the warranty until {date}.",
        "We will replace the {kind} under warranty.",
        "Please send us the receipt so we can register the warranty claim.",
    ],
    // feedback
    &[
        "Thank you for taking the time to write to us.",
        "I have passed your suggestion to our product team.",
        "I will share your kind words with {agent}.",
    ],
    // spam
    &["Closing as spam."],
    // sales
    &[
        "I have attached a quote for {many} units.",
        "Our sales team in {town} will contact you to arrange a demo.",
        "We offer a discount from {many} units.",
    ],
];

/// What agents write whatever the topic.
const AGENT_SENTENCES: &[&str] = &[
    "Thank you for contacting us.",
    "I am sorry to hear about the trouble with your {item}.",
    "Could you send us a photo of the {kind} and its serial number?",
    "I have passed this to our {team} team.",
    "Let me know if there is anything else I can do.",
    "Could you tell me when this started?",
    "I can see your order {order} in our system.",
    "Please reply to this message if the problem comes back.",
    "I will keep this case open until we hear from you.",
    "Thank you for your patience while we looked into this.",
    "We have not heard back from you; is the problem solved?",
    "I have added a note for my colleague {name}.",
];

/// Internal notes between agents.
const NOTE_SENTENCES: &[&str] = &[
    "Customer called again about the {item}.",
    "Escalated to the {team} team.",
    "Checked the logs: {error} on {model}, firmware {version}.",
    "Same issue as the case from {surname} last {weekday}.",
    "Offered a goodwill credit of {amount}.",
    "Waiting for the carrier's answer.",
    "Do not close before the refund has gone through.",
    "Known issue, fix planned for version {version}.",
];

/// Customers who write in another language: how they greet, and what they
/// write (with the same slots).
const FOREIGN_GREETINGS: &[&str] = &["Guten Tag,", "Bonjour,", "Hola,", "Goedendag,"];
const FOREIGN_CUSTOMER: &[&[&str]] = &[
    &[
        "Mein {kind} funktioniert seit dem Update nicht mehr.",
        "Ich warte immer noch auf meine Rückerstattung für die Bestellung {order}.",
        "Das Paket mit der Sendungsnummer {tracking} ist nicht angekommen.",
        "Ich kann mich nicht mehr in mein Konto einloggen.",
        "Die Rechnung über {amount} ist leider falsch.",
        "Bitte helfen Sie mir so schnell wie möglich.",
        "Ich wohne in {town}.",
        "Das Gerät zeigt den Fehler {error}.",
    ],
    &[
        "Mon {kind} ne s'allume plus depuis hier.",
        "Je n'ai toujours pas reçu mon colis {tracking}.",
        "J'attends le remboursement de la commande {order}.",
        "Je ne peux plus me connecter à mon compte.",
        "La facture de {amount} est incorrecte.",
        "Merci de me répondre rapidement.",
        "L'appareil affiche l'erreur {error}.",
    ],
    &[
        "Mi pedido {order} no ha llegado todavía.",
        "No puedo iniciar sesión en mi cuenta.",
        "El {kind} no se enciende después de la actualización.",
        "Me han cobrado dos veces {amount}.",
        "Espero el reembolso desde hace semanas.",
        "Vivo en {town}.",
        "Aparece el error {error} en la pantalla.",
    ],
    &[
        "Mijn pakket {tracking} is nog steeds niet bezorgd.",
        "Ik kan niet meer inloggen op mijn account.",
        "Mijn {kind} doet het niet meer sinds de update.",
        "Ik wacht nog op de terugbetaling van {amount}.",
        "Kunt u mij zo snel mogelijk helpen?",
        "Het apparaat geeft foutmelding {error}.",
    ],
];

// Every topic has its subjects and sentences.
const _: () = assert!(SUBJECTS.len() == CATEGORIES.len());
const _: () = assert!(TOPIC_SENTENCES.len() == CATEGORIES.len());
const _: () = assert!(AGENT_TOPIC_SENTENCES.len() == CATEGORIES.len());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lexicon_is_long_tailed() {
        let lexicon = Lexicon::new();
        let words: std::collections::HashSet<String> = lexicon
            .brands
            .iter()
            .chain(&lexicon.surnames)
            .chain(&lexicon.towns)
            .chain(lexicon.products.iter().flat_map(|p| &p.models))
            .map(|w| w.to_lowercase())
            .collect();
        assert!(words.len() > 10_000, "{} distinct names", words.len());
        // The most common town is drawn far more often than a tail one.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut counts = vec![0u32; lexicon.towns.len()];
        for _ in 0..100_000 {
            counts[lexicon.town_draw.draw(&mut rng)] += 1;
        }
        assert!(counts[0] > 5_000, "head {}", counts[0]);
        assert!(counts[lexicon.towns.len() / 2] < 50);
    }

    #[test]
    fn every_slot_in_every_template_is_known() {
        let lexicon = Lexicon::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let all = SUBJECTS
            .iter()
            .chain(TOPIC_SENTENCES)
            .chain(AGENT_TOPIC_SENTENCES)
            .chain(FOREIGN_CUSTOMER)
            .flat_map(|t| t.iter())
            .chain(CUSTOMER_SENTENCES)
            .chain(LOG_HEADINGS)
            .chain(LOG_LINES)
            .chain(AGENT_SENTENCES)
            .chain(NOTE_SENTENCES);
        let subject = Subject::new(&lexicon, 0, "Anna", "Ben", &mut rng);
        for template in all {
            let mut out = String::new();
            fill(template, &subject, &lexicon, &mut rng, &mut out);
            assert!(!out.contains('{') && !out.contains('}'), "{template}");
        }
    }
}
