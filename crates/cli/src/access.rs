//! Partner sharing commands (issue 21): `source` (releasability labels of a store's sources),
//! `token` (principals and API tokens) and `audit` (list and verify the audit log). Argument
//! parsing and printing only: the rules live in the `access` library, which the server calls.

use access::audit::{self, AuditFilter, AUDIT_LOG};
use access::label::Name;
use access::{Access, NewToken, PrincipalKind, Releasability};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

const LABELS_HELP: &str = "\
Markings: PUBLIC (every principal), 'USA ONLY' (owner USA alone), 'REL TO IND, USA' (owner IND,
the first name, and USA), 'REL TO USA, FVEY' (USA and every principal in group FVEY), WITHHELD
(no principal). A SOURCE is a feed name (the NAME of `ingest NAME=INPUT`, or the file name) or a
longer provenance label (FEED/station/talker): the longest labelled prefix of a position's
source decides. Sources no label covers get the store's default: WITHHELD until set with
`tidewatch source default` (fail closed: a new feed is shown to no one until labelled).";

/// Arguments of `tidewatch source`.
#[derive(Debug, Args)]
#[command(after_help = LABELS_HELP)]
pub struct SourceArgs {
    #[command(subcommand)]
    command: SourceCommand,
}

#[derive(Debug, Subcommand)]
enum SourceCommand {
    /// Set the releasability label of a source (feed or station), e.g. 'REL TO IND, USA'.
    Label {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// Feed name or provenance label prefix (FEED/station).
        source: String,
        /// Marking: PUBLIC, WITHHELD, 'USA ONLY', 'REL TO IND, USA'.
        marking: String,
    },
    /// Remove a source's label (it falls back to a shorter labelled prefix or the default).
    Unlabel {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// The labelled source.
        source: String,
    },
    /// Show, or with MARKING set, the default label of sources without one.
    Default {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// New default marking.
        marking: Option<String>,
    },
    /// List labelled sources and the sources ingested, with the label each one gets.
    List {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `tidewatch token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

/// `--kind` of `token create`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// A person.
    User,
    /// Another partner's system (a linked server).
    System,
    /// Monitoring: reads /metrics and /api/health only, no data.
    Monitor,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a principal (created when new). The token is printed once, on
    /// standard output, and stored only as its SHA-256.
    Create {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// Principal name (a user or a partner system), e.g. analyst-7, ind-link.
        #[arg(long)]
        name: String,
        /// The principal's partner, e.g. IND.
        #[arg(long)]
        partner: String,
        /// A releasability group of the principal (repeat for more), e.g. FVEY.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// User, partner system, or monitor (reads /metrics and /api/health only; default:
        /// user for a new principal).
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
    /// List tokens (id, principal, partner, groups, created, revoked); never a secret.
    List {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke tokens by id (effective at the server's next request).
    Revoke {
        /// Store directory.
        #[arg(long)]
        store: PathBuf,
        /// Token ids (from `token list`).
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

/// Arguments of `tidewatch audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Only this principal's entries.
    #[arg(long)]
    principal: Option<String>,
    /// Only entries at or after this time (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time)]
    since: Option<i64>,
    /// The stored lines (JSON) instead of a table.
    #[arg(long)]
    json: bool,
    /// Check the hash chain instead of listing: exits with status 1 when an entry was edited,
    /// removed, inserted or moved, or the last line is torn.
    #[arg(long)]
    verify: bool,
    /// With --verify: a head hash recorded earlier, which must still be in the chain (detects
    /// entries cut off the end).
    #[arg(long, requires = "verify")]
    expect_head: Option<String>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn open(store: &Path) -> Result<Access> {
    Access::open(store).with_context(|| format!("opening the access rules of {}", store.display()))
}

/// [`open`], making the store first when its directory is new or empty: a deployment issues
/// tokens and labels sources before its server first starts.
fn open_or_create(store: &Path) -> Result<Access> {
    if !store.join("manifest.jsonl").is_file() {
        let empty = std::fs::read_dir(store).map_or(true, |mut d| d.next().is_none());
        if !empty {
            bail!(
                "{} is not a Tidewatch store (and not empty: nothing was created)",
                store.display()
            );
        }
        drop(
            store::Store::create_or_open(store)
                .with_context(|| format!("cannot create the store {}", store.display()))?,
        );
    }
    open(store)
}

/// The access rules when the store has them; `None` when it has none yet (nothing created).
fn existing(store: &Path) -> Result<Option<Access>> {
    if !store.join("manifest.jsonl").is_file() {
        bail!("{} is not a Tidewatch store", store.display());
    }
    if !store.join(access::db::ACCESS_DB).exists() {
        return Ok(None);
    }
    open(store).map(Some)
}

fn marking(s: &str) -> Result<Releasability> {
    Ok(Releasability::parse(s)?)
}

fn time_text(ms: i64) -> String {
    query::iso8601_ms(ms)
}

/// `tidewatch source ...`.
/// Whether a source name is a partner link's (`link:`, in any case: `LINK:x` would be a label
/// matching nothing, which looks like one that holds).
fn is_link_source(source: &str) -> bool {
    let p = access::label::LINK_PREFIX;
    source.len() >= p.len() && source.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
}

pub fn source(args: SourceArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match args.command {
        SourceCommand::Label {
            store,
            source,
            marking: m,
        } => {
            let label = marking(&m)?;
            if is_link_source(&source) {
                bail!(
                    "{source}: the labels of a partner link's sources are the upstream \
                     originator's, set by the link; they cannot be changed here"
                );
            }
            open_or_create(&store)?.set_label(&source, &label, now_ms())?;
            writeln!(out, "{source}\t{label}")?;
            if let Some(w) = unmatched_pattern(&store, &source, &label)? {
                eprintln!("tidewatch: warning: {w}");
            }
        }
        SourceCommand::Unlabel { store, source } => {
            if is_link_source(&source) {
                bail!("{source}: the labels of a partner link's sources are set by the link");
            }
            if !open(&store)?.remove_label(&source)? {
                bail!("{source} has no label of its own");
            }
        }
        SourceCommand::Default { store, marking: m } => {
            let a = open(&store)?;
            if let Some(m) = m {
                a.set_default_label(&marking(&m)?)?;
            }
            writeln!(out, "{}", a.default_label()?)?;
        }
        SourceCommand::List { store, json } => list_sources(&store, json, &mut out)?,
    }
    Ok(())
}

/// The sources ingested into `store` so far (none before the first ingest).
fn ingested_sources(store: &Path) -> Result<Vec<String>> {
    let registry = store.join("registry.sqlite");
    if !registry.exists() {
        return Ok(Vec::new());
    }
    Ok(store::RegistryDb::open_read_only(&registry)
        .and_then(|r| r.sources())
        .with_context(|| format!("reading {}", registry.display()))?
        .into_iter()
        .map(|s| s.label)
        .collect())
}

/// A warning when a store that has ingested sources has none `pattern` labels (a typo, or a
/// feed not ingested yet): the label is kept and applies to such a source once ingested.
fn unmatched_pattern(
    store: &Path,
    pattern: &str,
    label: &access::Releasability,
) -> Result<Option<String>> {
    let seen = ingested_sources(store)?;
    // Whether the pattern covers a source, as labels resolve it (the source, or a prefix of
    // it ending before a `/`).
    let mut only = access::SourceLabels::default();
    only.set(pattern, label.clone())?;
    if seen.is_empty() || seen.iter().any(|s| only.resolve(s).1.is_some()) {
        return Ok(None);
    }
    let mut feeds: Vec<&str> = seen
        .iter()
        .map(|s| s.split('/').next().unwrap_or(""))
        .collect();
    feeds.sort_unstable();
    feeds.dedup();
    let shown = feeds.iter().take(8).copied().collect::<Vec<_>>().join(", ");
    let more = if feeds.len() > 8 { ", ..." } else { "" };
    Ok(Some(format!(
        "no source ingested so far is {pattern} or under it (feeds: {shown}{more}); the \
         label is kept and applies once such a source is ingested"
    )))
}

fn list_sources(store: &Path, json: bool, out: &mut impl Write) -> Result<()> {
    // A listing creates nothing: without `access.sqlite`, no labels and the built-in default.
    let a = existing(store)?;
    let labels = match &a {
        Some(a) => a.labels()?,
        None => access::SourceLabels::default(),
    };
    let seen = ingested_sources(store)?;
    // Labelled patterns first (whether or not ingested yet), then every ingested source with
    // the label it resolves to and the pattern that gave it.
    let mut rows: Vec<(String, &'static str, String, Option<String>)> = Vec::new();
    for r in a.as_ref().map_or(Ok(Vec::new()), Access::label_rows)? {
        // A link's sources are labelled by the link, as the originator labelled them upstream.
        let by = is_link_source(&r.pattern).then(|| {
            let name = r.pattern[access::label::LINK_PREFIX.len()..]
                .split('/')
                .next()
                .unwrap_or("");
            format!("link {name} (as upstream)")
        });
        rows.push((r.pattern, "labelled", r.label.to_string(), by));
    }
    for s in &seen {
        let (label, by) = labels.resolve(s);
        rows.push((
            s.clone(),
            "ingested",
            label.to_string(),
            Some(by.unwrap_or("(default)").to_owned()),
        ));
    }
    if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"default": labels.default_label().to_string()})
        )?;
        for (source, kind, label, by) in &rows {
            let mut o = serde_json::json!({"source": source, "kind": kind, "label": label});
            if let Some(by) = by {
                o["labelled_by"] = by.as_str().into();
            }
            writeln!(out, "{o}")?;
        }
        return Ok(());
    }
    writeln!(out, "default\t{}", labels.default_label())?;
    writeln!(out, "SOURCE\tKIND\tLABEL\tLABELLED BY")?;
    for (source, kind, label, by) in &rows {
        writeln!(
            out,
            "{source}\t{kind}\t{label}\t{}",
            by.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

fn names(v: &[String]) -> Result<BTreeSet<Name>> {
    v.iter()
        .map(|g| Name::parse(g).map_err(anyhow::Error::from))
        .collect()
}

/// `tidewatch token ...`.
pub fn token(args: TokenArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match args.command {
        TokenCommand::Create {
            store,
            name,
            partner,
            groups,
            kind,
        } => {
            let req = NewToken {
                name,
                partner: Name::parse(&partner)?,
                groups: names(&groups)?,
                kind: kind.map(|k| match k {
                    KindArg::User => PrincipalKind::User,
                    KindArg::System => PrincipalKind::System,
                    KindArg::Monitor => PrincipalKind::Monitor,
                }),
            };
            let (info, secret) = open_or_create(&store)?.create_token(&req, now_ms())?;
            // The secret alone on stdout (for scripts); what it is on stderr.
            writeln!(out, "{}", secret.expose())?;
            let p = &info.principal;
            eprintln!(
                "tidewatch: token {} for {} {} of {}{}: shown once, stored as its SHA-256 only",
                info.id,
                p.kind.as_str(),
                p.name,
                p.partner,
                if p.groups.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (groups {})",
                        p.groups
                            .iter()
                            .map(Name::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
        }
        TokenCommand::List { store, json } => {
            let tokens = match existing(&store)? {
                Some(a) => a.tokens()?,
                None => Vec::new(),
            };
            if !json {
                writeln!(
                    out,
                    "ID\tPRINCIPAL\tKIND\tPARTNER\tGROUPS\tCREATED\tREVOKED"
                )?;
            }
            for t in tokens {
                let p = &t.principal;
                let groups: Vec<&str> = p.groups.iter().map(Name::as_str).collect();
                if json {
                    let o = serde_json::json!({
                        "id": t.id,
                        "principal": p.name,
                        "kind": p.kind.as_str(),
                        "partner": p.partner.as_str(),
                        "groups": groups,
                        "created": time_text(t.created_ms),
                        "revoked": t.revoked_ms.map(time_text),
                    });
                    writeln!(out, "{o}")?;
                } else {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        t.id,
                        p.name,
                        p.kind.as_str(),
                        p.partner,
                        if groups.is_empty() {
                            "-".to_owned()
                        } else {
                            groups.join(",")
                        },
                        time_text(t.created_ms),
                        t.revoked_ms.map_or_else(|| "-".to_owned(), time_text),
                    )?;
                }
            }
        }
        TokenCommand::Revoke { store, ids } => {
            let a = open(&store)?;
            let now = now_ms();
            for id in ids {
                if a.revoke_token(id, now)? {
                    writeln!(out, "revoked token {id}")?;
                } else {
                    writeln!(out, "token {id} was already revoked")?;
                }
            }
        }
    }
    Ok(())
}

/// `tidewatch audit`.
pub fn audit(args: AuditArgs) -> Result<()> {
    if !args.store.join("manifest.jsonl").is_file() {
        bail!("{} is not a Tidewatch store", args.store.display());
    }
    let path = args.store.join(AUDIT_LOG);
    let mut out = std::io::stdout().lock();
    if args.verify {
        let v = audit::verify(&path, args.expect_head.as_deref())
            .with_context(|| format!("reading {}", path.display()))?;
        for p in &v.problems {
            writeln!(out, "line {} (byte {}): {}", p.line, p.offset, p.problem)?;
        }
        if v.expected_head_found == Some(false) {
            writeln!(
                out,
                "the expected head {} is not in the chain: entries were cut off or replaced",
                args.expect_head.as_deref().unwrap_or_default()
            )?;
        }
        match &v.head {
            Some((seq, hash)) => {
                writeln!(out, "{} entries; head seq {seq} hash {hash}", v.entries)?
            }
            None => writeln!(out, "{} entries", v.entries)?,
        }
        if !v.ok() {
            let n = v.problems.len() + usize::from(v.expected_head_found == Some(false));
            bail!(
                "audit log {} failed verification ({n} problem{})",
                path.display(),
                if n == 1 { "" } else { "s" }
            );
        }
        writeln!(out, "ok: the hash chain is intact")?;
        return Ok(());
    }
    let filter = AuditFilter {
        principal: args.principal,
        since_ms: args.since,
    };
    let (entries, bad) = audit::read(&path, &filter)?;
    if !args.json {
        writeln!(
            out,
            "SEQ\tTIME\tPRINCIPAL\tPARTNER\tENDPOINT\tSTATUS\tRETURNED\tWITHHELD\tREPEATS\tPARAMS"
        )?;
    }
    for e in &entries {
        let r = &e.record;
        if args.json {
            let o = serde_json::json!({
                "seq": e.seq,
                "time": time_text(r.time_ms),
                "principal": r.principal,
                "partner": r.partner,
                "endpoint": r.endpoint,
                "params": r.params,
                "status": r.status.unwrap_or(200),
                "returned": r.returned,
                "withheld": r.withheld,
                // Set when the entry stands for that many more identical reads answered
                // empty, from `first` to `time`.
                "repeats": r.repeats.map(|x| serde_json::json!({
                    "count": x.count,
                    "first": time_text(x.first_ms),
                })),
                "hash": e.hash,
            });
            writeln!(out, "{o}")?;
        } else {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                e.seq,
                time_text(r.time_ms),
                r.principal,
                r.partner,
                r.endpoint,
                r.status.unwrap_or(200),
                r.returned,
                r.withheld,
                r.repeats.map_or_else(
                    || "-".to_owned(),
                    |x| format!("{} from {}", x.count, time_text(x.first_ms))
                ),
                r.params
            )?;
        }
    }
    if bad > 0 {
        eprintln!(
            "tidewatch: warning: {bad} line{} of {} are not audit entries; run `tidewatch audit --verify`",
            if bad == 1 { "" } else { "s" },
            path.display()
        );
    }
    Ok(())
}
