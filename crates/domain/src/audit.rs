//! The tamper-evident audit log (security guide §5.2, LOG-06; DPA 2018 s.62).
//!
//! Every event is chained: `hash = HMAC-SHA-256(key, "mace-audit-v1" ‖ seq ‖ prev_hash ‖ canonical(event))`.
//! The key lives outside the database, so someone who can edit the database cannot forge a
//! consistent chain. [`verify`] walks the chain and names the first event that was altered,
//! removed or reordered; the head (sequence and hash of the last event, itself MAC'ed) reveals a
//! truncated tail.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use time::OffsetDateTime;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Version tag of the canonical encoding; bump it (and keep the old verifier) if the fields change.
pub const CHAIN_TAG: &[u8] = b"mace-audit-v1";
const HEAD_TAG: &[u8] = b"mace-audit-head-v1";

/// The hash before the first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// The categories of DPA 2018 s.62 (law-enforcement logging), plus the security events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Collection,
    Alteration,
    Consultation,
    Disclosure,
    Combination,
    Erasure,
    Authn,
    AuthzDenied,
    BreakGlass,
    StepUp,
    Export,
    Admin,
}

impl Category {
    pub const ALL: &'static [Category] = &[
        Category::Collection,
        Category::Alteration,
        Category::Consultation,
        Category::Disclosure,
        Category::Combination,
        Category::Erasure,
        Category::Authn,
        Category::AuthzDenied,
        Category::BreakGlass,
        Category::StepUp,
        Category::Export,
        Category::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Collection => "collection",
            Category::Alteration => "alteration",
            Category::Consultation => "consultation",
            Category::Disclosure => "disclosure",
            Category::Combination => "combination",
            Category::Erasure => "erasure",
            Category::Authn => "authn",
            Category::AuthzDenied => "authz_denied",
            Category::BreakGlass => "break_glass",
            Category::StepUp => "step_up",
            Category::Export => "export",
            Category::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::Success, Outcome::Denied, Outcome::Failure]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// What a service records. Never personal data: ids, codes and the justification a user typed
/// for a break-glass or disclosure (which is about the access, not the child).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewEvent {
    pub at: OffsetDateTime,
    pub category: Category,
    /// A stable action name, for example `person.view` or `authn.sign_in`.
    pub action: String,
    pub outcome: Outcome,
    pub actor_user: Option<Uuid>,
    pub actor_org: Option<Uuid>,
    pub actor_role: Option<String>,
    /// SHA-256 of the session id, so events of one session can be grouped without the token.
    pub session_hash: Option<String>,
    pub source_addr: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub justification: Option<String>,
    pub recipient: Option<String>,
    pub legal_basis: Option<String>,
    /// Extra structured facts (JSON object as text), no personal data.
    pub detail: Option<String>,
}

impl NewEvent {
    /// A minimal event; fill the other fields with struct update syntax.
    pub fn new(at: OffsetDateTime, category: Category, action: &str, outcome: Outcome) -> Self {
        Self {
            at,
            category,
            action: action.to_string(),
            outcome,
            actor_user: None,
            actor_org: None,
            actor_role: None,
            session_hash: None,
            source_addr: None,
            target_type: None,
            target_id: None,
            justification: None,
            recipient: None,
            legal_basis: None,
            detail: None,
        }
    }
}

/// A stored event: the new event plus its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub seq: i64,
    pub id: Uuid,
    #[serde(flatten)]
    pub body: NewEvent,
    #[serde(with = "hex_bytes")]
    pub prev_hash: [u8; 32],
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
}

/// The chain key: 32 random bytes kept outside the database.
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl ChainKey {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// A separate 256-bit key for another purpose (signing pre-sign-in form tokens, say), so one
    /// secret file serves and no purpose's MAC can be replayed as another's.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut m = self.mac();
        hmac::Mac::update(&mut m, b"mace-derive-v1:");
        hmac::Mac::update(&mut m, purpose.as_bytes());
        hmac::Mac::finalize(m).into_bytes().into()
    }

    fn mac(&self) -> HmacSha256 {
        // RFC 2104 pads a key shorter than the block with zeros, so the padded 64-byte key gives
        // exactly HMAC(key, ·), through the infallible fixed-size constructor.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.0);
        <HmacSha256 as hmac::digest::KeyInit>::new(&block.into())
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey([REDACTED])")
    }
}

fn put(buf: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        None => buf.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(b) => {
            let len = u32::try_from(b.len()).unwrap_or(u32::MAX - 1);
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(&b[..len as usize]);
        }
    }
}

/// The canonical, versioned encoding of an event's content: every field length-prefixed, absent
/// fields marked, times as microseconds since the epoch.
pub fn canonical(id: Uuid, e: &NewEvent) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    put(&mut b, Some(id.as_bytes()));
    put(
        &mut b,
        Some(&crate::clock::to_unix_micros(e.at).to_be_bytes()),
    );
    put(&mut b, Some(e.category.as_str().as_bytes()));
    put(&mut b, Some(e.action.as_bytes()));
    put(&mut b, Some(e.outcome.as_str().as_bytes()));
    put(&mut b, e.actor_user.as_ref().map(|u| &u.as_bytes()[..]));
    put(&mut b, e.actor_org.as_ref().map(|u| &u.as_bytes()[..]));
    put(&mut b, e.actor_role.as_deref().map(str::as_bytes));
    put(&mut b, e.session_hash.as_deref().map(str::as_bytes));
    put(&mut b, e.source_addr.as_deref().map(str::as_bytes));
    put(&mut b, e.target_type.as_deref().map(str::as_bytes));
    put(&mut b, e.target_id.as_ref().map(|u| &u.as_bytes()[..]));
    put(&mut b, e.justification.as_deref().map(str::as_bytes));
    put(&mut b, e.recipient.as_deref().map(str::as_bytes));
    put(&mut b, e.legal_basis.as_deref().map(str::as_bytes));
    put(&mut b, e.detail.as_deref().map(str::as_bytes));
    b
}

/// The chained hash of an event.
pub fn chain_hash(key: &ChainKey, seq: i64, prev: &[u8; 32], id: Uuid, e: &NewEvent) -> [u8; 32] {
    let mut mac = key.mac();
    mac.update(CHAIN_TAG);
    mac.update(&seq.to_be_bytes());
    mac.update(prev);
    mac.update(&canonical(id, e));
    mac.finalize().into_bytes().into()
}

/// Link a new event after the current head.
pub fn seal(key: &ChainKey, head: &Head, id: Uuid, body: NewEvent) -> Event {
    let seq = head.seq + 1;
    let hash = chain_hash(key, seq, &head.hash, id, &body);
    Event {
        seq,
        id,
        body,
        prev_hash: head.hash,
        hash,
    }
}

/// The head of the chain: the last event's sequence number and hash, with a MAC so a truncated
/// tail cannot be hidden by rewinding the head without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: [u8; 32],
    pub mac: [u8; 32],
}

impl Head {
    pub fn genesis(key: &ChainKey) -> Self {
        Self::new(key, 0, GENESIS)
    }

    pub fn new(key: &ChainKey, seq: i64, hash: [u8; 32]) -> Self {
        let mac = head_mac(key, seq, &hash);
        Self { seq, hash, mac }
    }

    pub fn after(key: &ChainKey, e: &Event) -> Self {
        Self::new(key, e.seq, e.hash)
    }
}

fn head_mac(key: &ChainKey, seq: i64, hash: &[u8; 32]) -> [u8; 32] {
    let mut mac = key.mac();
    mac.update(HEAD_TAG);
    mac.update(&seq.to_be_bytes());
    mac.update(hash);
    mac.finalize().into_bytes().into()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: i64,
    pub head_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("event {seq}: altered (its hash does not match its content)")]
    Altered { seq: i64 },
    #[error("event {seq}: missing (an event before it was removed, or the sequence was rewritten)")]
    Removed { seq: i64 },
    #[error("event {seq}: out of order (its link to the previous event is broken)")]
    Reordered { seq: i64 },
    #[error(
        "the chain ends at event {last} but the head records event {head}: the tail was truncated"
    )]
    Truncated { last: i64, head: i64 },
    #[error("the chain head was altered (its MAC does not match)")]
    HeadAltered,
    #[error("the chain continues past the head (event {seq}): events were appended outside mace")]
    BeyondHead { seq: i64 },
}

impl VerifyError {
    /// The sequence number of the first bad event, where one can be named.
    pub fn first_bad_seq(&self) -> Option<i64> {
        match self {
            VerifyError::Altered { seq }
            | VerifyError::Removed { seq }
            | VerifyError::Reordered { seq }
            | VerifyError::BeyondHead { seq } => Some(*seq),
            VerifyError::Truncated { last, .. } => Some(last + 1),
            VerifyError::HeadAltered => None,
        }
    }
}

/// Streaming verifier: feed events in stored order (by `seq`), then call [`Verifier::finish`].
pub struct Verifier<'k> {
    key: &'k ChainKey,
    expected_seq: i64,
    prev: [u8; 32],
}

impl<'k> Verifier<'k> {
    pub fn new(key: &'k ChainKey) -> Self {
        Self {
            key,
            expected_seq: 1,
            prev: GENESIS,
        }
    }

    pub fn push(&mut self, e: &Event) -> Result<(), VerifyError> {
        if e.seq != self.expected_seq {
            // A gap: the expected event is gone. A repeat or step back: reordered.
            return Err(if e.seq > self.expected_seq {
                VerifyError::Removed {
                    seq: self.expected_seq,
                }
            } else {
                VerifyError::Reordered { seq: e.seq }
            });
        }
        let recomputed = chain_hash(self.key, e.seq, &e.prev_hash, e.id, &e.body);
        if recomputed != e.hash {
            return Err(VerifyError::Altered { seq: e.seq });
        }
        if e.prev_hash != self.prev {
            return Err(VerifyError::Reordered { seq: e.seq });
        }
        self.prev = e.hash;
        self.expected_seq += 1;
        Ok(())
    }

    pub fn finish(self, head: &Head) -> Result<VerifyReport, VerifyError> {
        if head_mac(self.key, head.seq, &head.hash) != head.mac {
            return Err(VerifyError::HeadAltered);
        }
        let last = self.expected_seq - 1;
        if last < head.seq {
            return Err(VerifyError::Truncated {
                last,
                head: head.seq,
            });
        }
        if last > head.seq {
            return Err(VerifyError::BeyondHead { seq: head.seq + 1 });
        }
        if head.hash != self.prev {
            return Err(VerifyError::Altered { seq: last });
        }
        Ok(VerifyReport {
            events: last,
            head_seq: head.seq,
        })
    }
}

/// Verify a whole chain held in memory.
pub fn verify(key: &ChainKey, events: &[Event], head: &Head) -> Result<VerifyReport, VerifyError> {
    let mut v = Verifier::new(key);
    for e in events {
        v.push(e)?;
    }
    v.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn key() -> ChainKey {
        ChainKey::from_bytes([7u8; 32])
    }

    fn chain(n: i64) -> (Vec<Event>, Head) {
        let k = key();
        let mut head = Head::genesis(&k);
        let mut out = Vec::new();
        for i in 0..n {
            let body = NewEvent {
                actor_user: Some(Uuid::from_u128(u128::try_from(i).unwrap() + 1)),
                target_id: Some(Uuid::from_u128(99)),
                ..NewEvent::new(
                    datetime!(2026-01-05 09:00 UTC) + time::Duration::seconds(i),
                    Category::Consultation,
                    "person.view",
                    Outcome::Success,
                )
            };
            let e = seal(
                &k,
                &head,
                Uuid::from_u128(1000 + u128::try_from(i).unwrap()),
                body,
            );
            head = Head::after(&k, &e);
            out.push(e);
        }
        (out, head)
    }

    #[test]
    fn untouched_chain_verifies() {
        let (events, head) = chain(10);
        assert_eq!(
            verify(&key(), &events, &head),
            Ok(VerifyReport {
                events: 10,
                head_seq: 10
            })
        );
        let (none, genesis) = chain(0);
        assert_eq!(verify(&key(), &none, &genesis).map(|r| r.events), Ok(0));
    }

    #[test]
    fn every_kind_of_tampering_is_named() {
        let (events, head) = chain(10);

        // Altered content (any field).
        let mut altered = events.clone();
        altered[4].body.action = "person.edit".into();
        assert_eq!(
            verify(&key(), &altered, &head),
            Err(VerifyError::Altered { seq: 5 })
        );
        let mut altered_time = events.clone();
        altered_time[6].body.at += time::Duration::microseconds(1);
        assert_eq!(
            verify(&key(), &altered_time, &head),
            Err(VerifyError::Altered { seq: 7 })
        );

        // Removed from the middle.
        let mut removed = events.clone();
        removed.remove(3);
        assert_eq!(
            verify(&key(), &removed, &head),
            Err(VerifyError::Removed { seq: 4 })
        );

        // Reordered: swap two events' positions (and their sequence numbers to hide it).
        let mut reordered = events.clone();
        reordered.swap(2, 3);
        reordered[2].seq = 3;
        reordered[3].seq = 4;
        assert_eq!(
            verify(&key(), &reordered, &head).map_err(|e| e.first_bad_seq()),
            Err(Some(3))
        );

        // Tail truncated.
        let truncated = &events[..8];
        assert_eq!(
            verify(&key(), truncated, &head),
            Err(VerifyError::Truncated { last: 8, head: 10 })
        );

        // Head rewound to hide the truncation, without the key.
        let forged = Head {
            seq: 8,
            hash: events[7].hash,
            mac: head.mac,
        };
        assert_eq!(
            verify(&key(), truncated, &forged),
            Err(VerifyError::HeadAltered)
        );

        // A wrong key fails at the first event.
        let other = ChainKey::from_bytes([8u8; 32]);
        assert_eq!(
            verify(&other, &events, &head),
            Err(VerifyError::Altered { seq: 1 })
        );
    }

    #[test]
    fn canonical_encoding_separates_fields() {
        let a = NewEvent {
            justification: Some("ab".into()),
            recipient: Some("c".into()),
            ..NewEvent::new(
                datetime!(2026-01-05 09:00 UTC),
                Category::Disclosure,
                "x",
                Outcome::Success,
            )
        };
        let b = NewEvent {
            justification: Some("a".into()),
            recipient: Some("bc".into()),
            ..a.clone()
        };
        assert_ne!(canonical(Uuid::nil(), &a), canonical(Uuid::nil(), &b));
        let c = NewEvent {
            justification: None,
            ..a.clone()
        };
        let d = NewEvent {
            justification: Some(String::new()),
            ..a.clone()
        };
        assert_ne!(canonical(Uuid::nil(), &c), canonical(Uuid::nil(), &d));
    }

    #[test]
    fn padded_key_equals_plain_hmac() {
        let mut plain = <HmacSha256 as Mac>::new_from_slice(&[7u8; 32]).unwrap();
        plain.update(b"x");
        let mut ours = key().mac();
        ours.update(b"x");
        assert_eq!(plain.finalize().into_bytes(), ours.finalize().into_bytes());
    }

    #[test]
    fn categories_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
        }
    }
}
