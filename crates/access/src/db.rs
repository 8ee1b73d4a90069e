//! `access.sqlite`: source labels, the default label, principals and API tokens of a store.
//!
//! A file of its own beside `registry.sqlite` rather than tables in it: the server writes here
//! (tokens, revocations) while an ingest holds the store's writer lock and long registry
//! transactions; the file holds secrets' hashes and is created readable by its owner only
//! (mode 0600); and access rules are the operator's, not history that `compact` or a
//! re-ingest may rewrite. Tables are created with `IF NOT EXISTS`, so opening an existing store
//! of any age adds them and changes nothing else (`PRAGMA user_version` = [`SCHEMA_VERSION`]
//! for later migrations).
//!
//! Tokens: `tw_` and 64 hex digits, 256 bits from the operating system's generator
//! (`getrandom`), shown once by [`Access::create_token`] and stored only as the SHA-256 of the
//! token string. [`Access::authenticate`] hashes what it is given and compares the hash with
//! every live token's in constant time (no early exit, within a hash or across them).
//! Revocations by another process take effect at the next call: the token table is reloaded
//! whenever SQLite's `data_version` says another connection committed.

use crate::label::{check_pattern, Name, Releasability, SourceLabels};
use crate::visibility::{Principal, PrincipalKind};
use crate::AccessError;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The file name inside a store directory.
pub const ACCESS_DB: &str = "access.sqlite";

/// Schema version written to `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source_labels (
  pattern TEXT PRIMARY KEY, label TEXT NOT NULL, set_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS principals (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, partner TEXT NOT NULL,
  groups TEXT NOT NULL, kind TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY, principal INTEGER NOT NULL REFERENCES principals (id),
  sha256 TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, revoked_ms INTEGER);
";

const TOKEN_PREFIX: &str = "tw_";

/// A token in clear, as created: print it once and drop it. `Debug` does not show it.
pub struct Secret(String);

impl Secret {
    /// The token, to show the operator once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What [`Access::create_token`] is asked for.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The principal's name: created when new; when it exists, partner (and groups and kind,
    /// when given) must be its own.
    pub name: String,
    /// Its partner.
    pub partner: Name,
    /// Its groups (empty: none for a new principal, unchanged for an existing one).
    pub groups: BTreeSet<Name>,
    /// User or system (`None`: user for a new principal, unchanged for an existing one).
    pub kind: Option<PrincipalKind>,
}

/// A token as listed: never its secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Token id (what `token revoke` takes).
    pub id: i64,
    /// Whose token it is.
    pub principal: Principal,
    /// When it was created, ms since the Unix epoch (UTC).
    pub created_ms: i64,
    /// When it was revoked.
    pub revoked_ms: Option<i64>,
}

/// A label set on a source pattern, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    /// Source pattern.
    pub pattern: String,
    /// Its label.
    pub label: Releasability,
    /// When it was set, ms since the Unix epoch (UTC).
    pub set_ms: i64,
}

struct TokenCache {
    /// `PRAGMA data_version` when loaded; `None`: load before use.
    version: Option<i64>,
    live: Vec<([u8; 32], Principal)>,
    /// The labels snapshot of [`Access::current_labels`], loaded at `version`.
    labels: Option<Arc<SourceLabels>>,
    /// Whether any principal exists (revoked tokens included), loaded at `version`.
    principals: bool,
}

/// A store's access rules: labels, principals, tokens. `Sync`: one `Access` serves every
/// request thread.
pub struct Access {
    path: PathBuf,
    conn: Mutex<Connection>,
    cache: Mutex<TokenCache>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("path", &self.path).finish()
    }
}

fn db(e: rusqlite::Error) -> AccessError {
    AccessError::Db(e.to_string())
}

/// The token of an `Authorization` header value: `Bearer TOKEN` (the scheme in any case, one
/// or more spaces). `None` for any other scheme or an empty token.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let token = rest.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// Replaces every token-shaped run (`tw_` and 64 hex digits) in `s` with `tw_[redacted]`, so
/// that a token pasted into a request parameter never reaches a log. Returns whether any was.
pub fn redact_tokens(s: &mut String) -> bool {
    let mut out = String::new();
    let mut rest = s.as_str();
    let mut found = false;
    while let Some(i) = rest.find(TOKEN_PREFIX) {
        let after = &rest[i + TOKEN_PREFIX.len()..];
        let hex_len = after.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
        out.push_str(&rest[..i]);
        if hex_len >= 64 {
            out.push_str("tw_[redacted]");
            rest = &after[hex_len..];
            found = true;
        } else {
            out.push_str(TOKEN_PREFIX);
            rest = after;
        }
    }
    if found {
        out.push_str(rest);
        *s = out;
    }
    found
}

/// Principal names: 1 to 64 of letters, digits, `.`, `_`, `@`, `-`.
pub fn check_principal_name(n: &str) -> Result<(), AccessError> {
    let ok = (1..=64).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccessError::BadPrincipalName(n.to_owned()))
    }
}

/// The SHA-256 of a token string.
fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Equality of two hashes in time independent of where they differ.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut d = 0u8;
    for i in 0..32 {
        d |= a[i] ^ b[i];
    }
    std::hint::black_box(d) == 0
}

fn groups_text(g: &BTreeSet<Name>) -> String {
    g.iter().map(Name::as_str).collect::<Vec<_>>().join(",")
}

fn parse_groups(s: &str) -> Result<BTreeSet<Name>, AccessError> {
    s.split(',')
        .filter(|g| !g.is_empty())
        .map(|g| Name::parse(g).map_err(AccessError::Label))
        .collect()
}

fn principal_from(
    id: i64,
    name: String,
    partner: &str,
    groups: &str,
    kind: &str,
) -> Result<Principal, AccessError> {
    Ok(Principal {
        id,
        name,
        partner: Name::parse(partner).map_err(AccessError::Label)?,
        groups: parse_groups(groups)?,
        kind: PrincipalKind::parse(kind)
            .ok_or_else(|| AccessError::Db(format!("unknown principal kind {kind:?}")))?,
    })
}

impl Access {
    /// Opens (creating when missing) the access rules of the store in `store_dir`, which must
    /// be a store (`manifest.jsonl`).
    pub fn open(store_dir: &Path) -> Result<Access, AccessError> {
        if !store_dir.join("manifest.jsonl").is_file() {
            return Err(AccessError::NotAStore(store_dir.to_owned()));
        }
        let path = store_dir.join(ACCESS_DB);
        if !path.exists() {
            // Created owner-only before SQLite writes anything into it.
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            match o.open(&path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(AccessError::Io(e)),
            }
        }
        let conn = Connection::open(&path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        if v > SCHEMA_VERSION {
            return Err(AccessError::Db(format!(
                "{} has schema version {v}, newer than this tidewatch's {SCHEMA_VERSION}",
                path.display()
            )));
        }
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(db)?;
        Ok(Access {
            path,
            conn: Mutex::new(conn),
            cache: Mutex::new(TokenCache {
                version: None,
                live: Vec::new(),
                labels: None,
                principals: false,
            }),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn invalidate(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).version = None;
    }

    /// Sets the label of a source pattern (a feed name or a provenance label prefix).
    pub fn set_label(
        &self,
        pattern: &str,
        label: &Releasability,
        now_ms: i64,
    ) -> Result<(), AccessError> {
        check_pattern(pattern).map_err(AccessError::Label)?;
        self.conn()
            .execute(
                "INSERT INTO source_labels VALUES (?1, ?2, ?3)
                 ON CONFLICT (pattern) DO UPDATE SET label = ?2, set_ms = ?3",
                params![pattern, label.to_string(), now_ms],
            )
            .map_err(db)?;
        self.invalidate();
        Ok(())
    }

    /// Removes a pattern's label (its sources fall back to a shorter pattern or the default).
    /// Returns whether it had one.
    pub fn remove_label(&self, pattern: &str) -> Result<bool, AccessError> {
        let n = self
            .conn()
            .execute("DELETE FROM source_labels WHERE pattern = ?1", [pattern])
            .map_err(db)?;
        self.invalidate();
        Ok(n > 0)
    }

    /// Sets the store's default label of unlabelled sources.
    pub fn set_default_label(&self, label: &Releasability) -> Result<(), AccessError> {
        self.conn()
            .execute(
                "INSERT INTO settings VALUES ('default_label', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = ?1",
                [label.to_string()],
            )
            .map_err(db)?;
        self.invalidate();
        Ok(())
    }

    /// The store's default label: its setting, else [`SourceLabels::BUILT_IN_DEFAULT`].
    pub fn default_label(&self) -> Result<Releasability, AccessError> {
        let v: Option<String> = self
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE key = 'default_label'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        match v {
            Some(s) => Releasability::parse(&s).map_err(AccessError::Label),
            None => Ok(SourceLabels::BUILT_IN_DEFAULT),
        }
    }

    /// The labelled patterns, sorted.
    pub fn label_rows(&self) -> Result<Vec<LabelRow>, AccessError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT pattern, label, set_ms FROM source_labels ORDER BY pattern")
            .map_err(db)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (pattern, label, set_ms) = row.map_err(db)?;
            out.push(LabelRow {
                pattern,
                label: Releasability::parse(&label).map_err(AccessError::Label)?,
                set_ms,
            });
        }
        Ok(out)
    }

    /// A snapshot of the labels in force, for [`crate::View`].
    pub fn labels(&self) -> Result<SourceLabels, AccessError> {
        let mut l = SourceLabels::new(self.default_label()?);
        for r in self.label_rows()? {
            l.set(&r.pattern, r.label).map_err(AccessError::Label)?;
        }
        Ok(l)
    }

    /// The labels in force, shared: reloaded only when the database changed since the last
    /// call (another process's `tidewatch source label` counts at the next request). What the
    /// server calls per request; [`Access::labels`] always reads.
    pub fn current_labels(&self) -> Result<Arc<SourceLabels>, AccessError> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.refresh(&mut cache)?;
        if let Some(l) = &cache.labels {
            return Ok(l.clone());
        }
        let l = Arc::new(self.labels()?);
        cache.labels = Some(l.clone());
        Ok(l)
    }

    /// Creates a token (and its principal when new). The secret is returned once; only its
    /// SHA-256 is stored.
    pub fn create_token(
        &self,
        req: &NewToken,
        now_ms: i64,
    ) -> Result<(TokenInfo, Secret), AccessError> {
        check_principal_name(&req.name)?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| AccessError::Io(std::io::Error::other(e.to_string())))?;
        let secret = Secret(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)));
        let hash = hex::encode(token_hash(secret.expose()));
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let existing = tx
            .query_row(
                "SELECT id, partner, groups, kind FROM principals WHERE name = ?1",
                [&req.name],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        let principal = match existing {
            Some((id, partner, groups, kind)) => {
                let p = principal_from(id, req.name.clone(), &partner, &groups, &kind)?;
                let differs = p.partner != req.partner
                    || (!req.groups.is_empty() && p.groups != req.groups)
                    || req.kind.is_some_and(|k| k != p.kind);
                if differs {
                    return Err(AccessError::PrincipalConflict {
                        name: req.name.clone(),
                        partner: p.partner.to_string(),
                        groups: groups_text(&p.groups),
                        kind: p.kind.as_str(),
                    });
                }
                p
            }
            None => {
                let kind = req.kind.unwrap_or(PrincipalKind::User);
                tx.execute(
                    "INSERT INTO principals (name, partner, groups, kind, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        req.name,
                        req.partner.as_str(),
                        groups_text(&req.groups),
                        kind.as_str(),
                        now_ms
                    ],
                )
                .map_err(db)?;
                Principal {
                    id: tx.last_insert_rowid(),
                    name: req.name.clone(),
                    partner: req.partner.clone(),
                    groups: req.groups.clone(),
                    kind,
                }
            }
        };
        tx.execute(
            "INSERT INTO tokens (principal, sha256, created_ms) VALUES (?1, ?2, ?3)",
            params![principal.id, hash, now_ms],
        )
        .map_err(db)?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(db)?;
        drop(conn);
        self.invalidate();
        Ok((
            TokenInfo {
                id,
                principal,
                created_ms: now_ms,
                revoked_ms: None,
            },
            secret,
        ))
    }

    /// Every token (revoked ones too), by id.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, AccessError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT t.id, t.created_ms, t.revoked_ms, p.id, p.name, p.partner, p.groups, p.kind
                 FROM tokens t JOIN principals p ON p.id = t.principal ORDER BY t.id",
            )
            .map_err(db)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, created_ms, revoked_ms, pid, name, partner, groups, kind) = row.map_err(db)?;
            out.push(TokenInfo {
                id,
                principal: principal_from(pid, name, &partner, &groups, &kind)?,
                created_ms,
                revoked_ms,
            });
        }
        Ok(out)
    }

    /// Revokes a token. Returns false when it was revoked already; an unknown id is an error.
    pub fn revoke_token(&self, id: i64, now_ms: i64) -> Result<bool, AccessError> {
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
                params![id, now_ms],
            )
            .map_err(db)?;
        if n == 0 {
            let exists: bool = conn
                .query_row("SELECT count(*) FROM tokens WHERE id = ?1", [id], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(db)?
                > 0;
            if !exists {
                return Err(AccessError::UnknownToken(id));
            }
        }
        drop(conn);
        self.invalidate();
        Ok(n > 0)
    }

    /// The principal a bearer token belongs to, if it is a live token (`token` without the
    /// `Bearer ` prefix). Anything else, malformed included, is `None`; the reason is not
    /// told (a database error is `None` too: a request is refused, never let through).
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let well_formed = token.len() == TOKEN_PREFIX.len() + 64
            && token.starts_with(TOKEN_PREFIX)
            && token.as_bytes()[TOKEN_PREFIX.len()..]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        if !well_formed {
            return None;
        }
        let want = token_hash(token);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.refresh(&mut cache).ok()?;
        // Every live hash is compared in full; the match (hashes are unique) is selected
        // without a branch on the comparison.
        let mut found = 0usize;
        for (i, (h, _)) in cache.live.iter().enumerate() {
            let eq = ct_eq(h, &want) as usize;
            let mask = 0usize.wrapping_sub(eq);
            found = (found & !mask) | ((i + 1) & mask);
        }
        found.checked_sub(1).map(|i| cache.live[i].1.clone())
    }

    /// Whether any principal exists (with a live or a revoked token): the server then
    /// requires a token on every read. Reloaded like the tokens; an unreadable database
    /// counts as `true` (fail closed).
    pub fn has_principals(&self) -> bool {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.refresh(&mut cache).is_err() || cache.principals
    }

    /// Reloads the live tokens when another connection (or this one) changed the database.
    fn refresh(&self, cache: &mut TokenCache) -> Result<(), AccessError> {
        let conn = self.conn();
        let version: i64 = conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(db)?;
        if cache.version == Some(version) {
            return Ok(());
        }
        let mut st = conn
            .prepare(
                "SELECT t.sha256, p.id, p.name, p.partner, p.groups, p.kind
                 FROM tokens t JOIN principals p ON p.id = t.principal
                 WHERE t.revoked_ms IS NULL",
            )
            .map_err(db)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(db)?;
        let mut live = Vec::new();
        for row in rows {
            let (h, pid, name, partner, groups, kind) = row.map_err(db)?;
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&h, &mut hash)
                .map_err(|e| AccessError::Db(format!("bad token hash: {e}")))?;
            live.push((hash, principal_from(pid, name, &partner, &groups, &kind)?));
        }
        drop(st);
        let principals: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM principals)", [], |r| r.get(0))
            .map_err(db)?;
        cache.live = live;
        cache.principals = principals;
        cache.labels = None;
        cache.version = Some(version);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty store directory named for the test: the guard that removes it when dropped,
    /// and its path.
    fn store(name: &str) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("tw-access-{name}-"))
            .tempdir()
            .unwrap();
        let d = tmp.path().to_owned();
        std::fs::write(d.join("manifest.jsonl"), "").unwrap();
        (tmp, d)
    }

    fn new_token(name: &str, partner: &str, groups: &[&str]) -> NewToken {
        NewToken {
            name: name.into(),
            partner: Name::parse(partner).unwrap(),
            groups: groups.iter().map(|g| Name::parse(g).unwrap()).collect(),
            kind: None,
        }
    }

    #[test]
    fn a_token_authenticates_its_principal_until_revoked_and_is_stored_only_hashed() {
        let (_tmp, d) = store("tokens");
        let a = Access::open(&d).unwrap();
        let (info, secret) = a
            .create_token(&new_token("analyst", "IND", &["FVEY"]), 5)
            .unwrap();
        let tok = secret.expose().to_owned();
        assert_eq!(tok.len(), 67);
        assert!(!format!("{secret:?}").contains(&tok[3..]));
        let p = a.authenticate(&tok).unwrap();
        assert_eq!(p.name, "analyst");
        assert_eq!(p.partner.as_str(), "IND");
        assert_eq!(p, info.principal);
        // One changed digit, a prefix, the hash itself: refused.
        let mut other = tok.clone().into_bytes();
        other[10] = if other[10] == b'0' { b'1' } else { b'0' };
        assert!(a
            .authenticate(std::str::from_utf8(&other).unwrap())
            .is_none());
        assert!(a.authenticate(&tok[..66]).is_none());
        assert!(a.authenticate(&tok.to_uppercase()).is_none());
        let hash = hex::encode(token_hash(&tok));
        assert!(a.authenticate(&format!("tw_{hash}")).is_none());
        // Not in clear anywhere in the database files.
        drop(a);
        for f in std::fs::read_dir(&d).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&tok[3..]), "token in clear");
        }
        // A second process's revocation is seen by a long-lived Access at its next call.
        let server = Access::open(&d).unwrap();
        assert!(server.authenticate(&tok).is_some());
        let admin = Access::open(&d).unwrap();
        assert!(admin.revoke_token(info.id, 9).unwrap());
        assert!(!admin.revoke_token(info.id, 10).unwrap());
        assert!(matches!(
            admin.revoke_token(999, 10),
            Err(AccessError::UnknownToken(999))
        ));
        assert!(server.authenticate(&tok).is_none());
        let listed = server.tokens().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].revoked_ms, Some(9));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(ACCESS_DB))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "access.sqlite readable by others: {mode:o}"
            );
        }
    }

    #[test]
    fn bearer_headers_and_token_redaction() {
        assert_eq!(bearer("Bearer tw_abc"), Some("tw_abc"));
        assert_eq!(bearer("bearer   tw_abc "), Some("tw_abc"));
        assert_eq!(bearer("Basic dXNlcg=="), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer a b"), None);
        assert_eq!(bearer("tw_abc"), None);
        let tok = format!("tw_{}", "ab12".repeat(16));
        let mut s = format!(
            "q={tok}&x=tw_short&{}",
            tok.to_uppercase().replace("TW_", "tw_")
        );
        assert!(redact_tokens(&mut s));
        assert_eq!(s, "q=tw_[redacted]&x=tw_short&tw_[redacted]");
        let mut clean = "tw_ and tw_12".to_owned();
        assert!(!redact_tokens(&mut clean));
        assert_eq!(clean, "tw_ and tw_12");
    }

    #[test]
    fn a_second_token_of_a_principal_must_agree_with_it() {
        let (_tmp, d) = store("conflict");
        let a = Access::open(&d).unwrap();
        let (t1, s1) = a
            .create_token(&new_token("ind-link", "IND", &["FVEY"]), 1)
            .unwrap();
        let (t2, s2) = a
            .create_token(&new_token("ind-link", "IND", &[]), 2)
            .unwrap();
        assert_eq!(t1.principal, t2.principal);
        assert_ne!(s1.expose(), s2.expose());
        assert!(matches!(
            a.create_token(&new_token("ind-link", "USA", &[]), 3),
            Err(AccessError::PrincipalConflict { .. })
        ));
        assert!(matches!(
            a.create_token(&new_token("bad name", "USA", &[]), 3),
            Err(AccessError::BadPrincipalName(_))
        ));
        assert_eq!(a.authenticate(s1.expose()).unwrap().name, "ind-link");
        assert_eq!(a.authenticate(s2.expose()).unwrap().id, t1.principal.id);
    }

    #[test]
    fn labels_and_the_default_survive_reopening() {
        let (_tmp, d) = store("labels");
        let a = Access::open(&d).unwrap();
        assert_eq!(a.default_label().unwrap(), Releasability::Withheld);
        let rel = Releasability::parse("REL TO IND, USA").unwrap();
        a.set_label("in-navy", &rel, 1).unwrap();
        a.set_label("in-navy", &Releasability::Public, 2).unwrap();
        a.set_label("sat", &rel, 3).unwrap();
        a.set_default_label(&Releasability::parse("USA ONLY").unwrap())
            .unwrap();
        assert!(a.set_label("a//b", &rel, 1).is_err());
        drop(a);
        let a = Access::open(&d).unwrap();
        let rows = a.label_rows().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label, Releasability::Public);
        assert_eq!(rows[0].set_ms, 2);
        let l = a.labels().unwrap();
        assert_eq!(l.label_of("sat/AI"), &rel);
        assert_eq!(l.label_of("x").to_string(), "USA ONLY");
        // The shared snapshot follows this connection's and another process's changes.
        let snap = a.current_labels().unwrap();
        assert!(
            Arc::ptr_eq(&snap, &a.current_labels().unwrap()),
            "reused while unchanged"
        );
        assert_eq!(snap.label_of("sat/AI"), &rel);
        let other = Access::open(&d).unwrap();
        other.set_label("sat", &Releasability::Withheld, 4).unwrap();
        assert_eq!(
            a.current_labels().unwrap().label_of("sat/AI"),
            &Releasability::Withheld
        );
        a.set_label("sat", &rel, 5).unwrap();
        assert_eq!(a.current_labels().unwrap().label_of("sat/AI"), &rel);
        assert!(a.remove_label("sat").unwrap());
        assert!(!a.remove_label("sat").unwrap());
        assert_eq!(
            a.current_labels().unwrap().label_of("sat/AI").to_string(),
            "USA ONLY"
        );
        assert!(matches!(
            Access::open(&d.join("nope")),
            Err(AccessError::NotAStore(_))
        ));
    }
}
