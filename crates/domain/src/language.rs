//! Appropriate language: free text is checked against phrases that blame children for their
//! own exploitation, and each match comes with better wording. Suggestions, never blocks.
//!
//! Sources: The Children's Society, "Appropriate language: child sexual and/or criminal
//! exploitation, guidance for professionals" (2022, reissued 2024 with NAPAC), and the
//! Youth Justice Legal Centre's CCE language guide (see ../shared/guide/domain.md §10.5).

use serde::Serialize;

/// (phrase as folded text, why, better wording)
const PHRASES: &[(&str, &str, &str)] = &[
    (
        "putting themselves at risk",
        "implies the child is responsible for the risk",
        "the child is at risk of harm / is being exploited by …",
    ),
    (
        "putting herself at risk",
        "implies the child is responsible for the risk",
        "she is at risk of harm / is being exploited by …",
    ),
    (
        "putting himself at risk",
        "implies the child is responsible for the risk",
        "he is at risk of harm / is being exploited by …",
    ),
    (
        "child prostitute",
        "a child cannot be a prostitute; this is abuse",
        "a child who is being sexually exploited",
    ),
    (
        "prostituting",
        "a child cannot consent to being sold for sex",
        "being sexually exploited / abused",
    ),
    (
        "prostitution",
        "a child cannot be involved in prostitution; this is abuse",
        "child sexual exploitation",
    ),
    (
        "consensual",
        "a child cannot consent to their own abuse or exploitation",
        "describe what happened and the power imbalance",
    ),
    (
        "consented",
        "a child cannot consent to their own abuse or exploitation",
        "describe what happened and the power imbalance",
    ),
    (
        "consenting",
        "a child cannot consent to their own abuse or exploitation",
        "describe what happened and the power imbalance",
    ),
    (
        "boyfriend",
        "for an adult who exploits a child, this hides the abuse",
        "an adult who is exploiting the child (name them if known)",
    ),
    (
        "girlfriend",
        "for an adult who exploits a child, this hides the abuse",
        "an adult who is exploiting the child (name them if known)",
    ),
    (
        "in a relationship with",
        "an exploiting adult is not in a relationship with a child",
        "is being exploited by / is in contact with an adult who poses a risk",
    ),
    (
        "sexually active",
        "can hide abuse and exploitation",
        "describe who the child has contact with and any concerns about power or control",
    ),
    (
        "promiscuous",
        "blames the child",
        "the child may be being sexually exploited",
    ),
    (
        "risky behaviour",
        "puts the responsibility on the child",
        "the child is at risk of … (say what, and from whom)",
    ),
    (
        "risk-taking behaviour",
        "puts the responsibility on the child",
        "the child is at risk of … (say what, and from whom)",
    ),
    (
        "lifestyle choice",
        "a child does not choose to be exploited",
        "the child is being exploited / groomed",
    ),
    (
        "choosing to",
        "implies a free choice the child may not have",
        "describe the pressure or control the child is under",
    ),
    (
        "involved in cse",
        "makes the child sound like a participant",
        "is a victim of child sexual exploitation",
    ),
    (
        "involved in county lines",
        "makes the child sound like a participant",
        "is being criminally exploited through county lines",
    ),
    (
        "drug runner",
        "labels the child by the crime committed against them",
        "a child being criminally exploited",
    ),
    (
        "drug dealer",
        "for an exploited child, labels them by the exploitation",
        "a child being criminally exploited to move or sell drugs",
    ),
    (
        "money mule",
        "labels the child by the exploitation",
        "a child being exploited to move money",
    ),
    (
        "plugging",
        "minimises an abusive act",
        "the child is being forced to conceal drugs internally",
    ),
    (
        "recruiting other children",
        "may describe a child who is themselves exploited",
        "is being used by exploiters to contact other children",
    ),
    (
        "sexting",
        "can imply the child is equally responsible",
        "the child has been asked or pressured to send images",
    ),
    (
        "sending nudes",
        "can imply the child is equally responsible",
        "the child has been asked or pressured to send images",
    ),
    (
        "has been contacting adults",
        "suggests the child is the instigator",
        "an adult is facilitating communication with the child",
    ),
    (
        "streetwise",
        "can hide a child's vulnerability",
        "describe the risks and the child's vulnerability",
    ),
    (
        "pimp",
        "hides that this is a person abusing a child",
        "an adult who is sexually exploiting the child",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// The words as written.
    pub found: String,
    pub why: &'static str,
    pub instead: &'static str,
}

/// The victim-blaming phrases in `text`, each once, in the order they appear.
pub fn check(text: &str) -> Vec<Suggestion> {
    let lower = text.to_lowercase();
    let mut hits: Vec<(usize, Suggestion)> = Vec::new();
    for (phrase, why, instead) in PHRASES {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(phrase) {
            let start = from + pos;
            let end = start + phrase.len();
            let before_ok = lower[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            let after_ok = lower[end..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric());
            if before_ok && after_ok {
                // Same byte offsets: lowercasing these ASCII phrases keeps lengths.
                let found = text.get(start..end).unwrap_or(phrase).to_string();
                if !hits.iter().any(|(_, s)| s.found.to_lowercase() == *phrase) {
                    hits.push((
                        start,
                        Suggestion {
                            found,
                            why,
                            instead,
                        },
                    ));
                }
                break;
            }
            from = end;
        }
    }
    hits.sort_by_key(|(at, _)| *at);
    hits.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_phrases_as_words_in_order() {
        let s = check("She is Putting herself at risk by going to see her boyfriend, who is 24.");
        let found: Vec<_> = s.iter().map(|x| x.found.as_str()).collect();
        assert_eq!(found, ["Putting herself at risk", "boyfriend"]);
        assert!(s[1].instead.contains("adult"));
        // Not inside other words; nothing in respectful text.
        assert!(check("The consensus at the meeting was to refer.").is_empty());
        assert!(check("An adult is exploiting the child; she is at risk of harm.").is_empty());
    }
}
