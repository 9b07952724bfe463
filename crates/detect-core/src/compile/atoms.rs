//! Atoms: literals that any match of an expression must contain.
//!
//! The prefilter (see [`crate::prefilter`]) finds every atom in an event with
//! one Aho-Corasick pass per field, and only rules with a hit atom (or without
//! any usable atom) are evaluated. For that to be sound, an expression's atoms
//! must be *required*: if the expression matches, at least one of its atoms
//! occurs (case-insensitively for ASCII) in the text of its field.
//!
//! * a string test yields its longest literal; for a case-insensitive
//!   pattern, its best run of characters that only match themselves bytewise
//!   once ASCII is folded (see [`foldable_in_atom`]): Aho-Corasick folds
//!   ASCII only, so `Ä` (matched by `ä` too) cannot be in an atom, but an
//!   emoji, which no other character folds to, can;
//! * `And` needs just one child's atoms: the child whose weakest atom scores
//!   best (long, with rare bytes; the idea of YARA-X's atom quality);
//! * `Or` needs atoms from every child, or it has none;
//! * a keyword yields its longest literal too, on the pseudo-field
//!   [`KEYWORDS`]: the prefilter scans every value of the event once for the
//!   atoms of all keyword rules, instead of each keyword rule walking every
//!   value;
//! * a regex yields the literals one of which its every match contains,
//!   read off the syntax tree of the regex engine's own parser
//!   (`regex-syntax`; see [`regex_atoms`]): `(?i)\$\{?input\}?|noexit.+\-c`
//!   gives `input` and `noexit`. Under `(?i)`, the engine folds case with
//!   Unicode *simple case folding*, which makes `k` match the KELVIN SIGN
//!   (U+212A) and `s` the LONG S (U+017F); the atoms hold `k` and `s`, and
//!   the prefilter marks every rule of a field whose value holds either;
//! * `Not`, numbers, CIDR, presence tests and field references yield none;
//! * neither do tests of [`CATEGORICAL_FIELDS`] (ECS categorization fields
//!   and the like), whose few values each occur in a large share of events:
//!   `event.action == "connection_attempted"` scores well as text but holds
//!   on most network events, so an `And` takes its atom from another child.
//!
//! An atom that scores below [`MIN_QUALITY`] is not worth a lookup: the
//! expression is then treated as having no atom and always evaluated. The bar
//! is low on purpose: a weak atom (`ATK/`, ` -hp`) only stands where no
//! better one exists (an `And` takes its best child), and even a weak atom
//! hits on far fewer events than "always". Measured on the SigmaHQ corpus
//! (`sigmahq_census` example of `detect-benches`): one 4-byte keyword of 71
//! below a bar of 9 left `win_av_relevant_match` without atoms, and its
//! evaluation on every Application event was half of all evaluation time.

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::ir::{Case, Expr, GlobToken, RegexPattern, StrKind, Test};
use crate::prefilter::KEYWORDS;
use crate::prefilter::quality_bytes;

/// A literal that must occur in the text of `field`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom {
    /// The event path.
    pub field: String,
    /// The literal; matched ASCII-case-insensitively.
    pub text: String,
}

/// Fields (ECS names) whose value is one of a few words, each common: an
/// atom on them would make its expression a candidate on a large share of
/// events, so they yield no atom. Tests on them still run in full.
///
/// ```
/// use detect_core::compile::atoms::required_atoms;
/// use detect_core::ir::{Case, Expr, FieldTest, StrKind, StrPattern, Test};
/// let test = |f: &str, s: &str| Expr::Field(FieldTest {
///     field: f.into(),
///     test: Test::Str(StrPattern { kind: StrKind::Exact(s.into()), case: Case::Insensitive }),
/// });
/// let stage = Expr::And(vec![
///     test("event.action", "connection_attempted"),
///     test("process.name", "msiexec.exe"),
/// ]);
/// assert_eq!(required_atoms(&stage).unwrap()[0].field, "process.name");
/// assert!(required_atoms(&test("event.category", "process")).is_none());
/// ```
pub const CATEGORICAL_FIELDS: &[&str] = &[
    "event.kind",
    "event.category",
    "event.type",
    "event.action",
    "event.outcome",
    "event.module",
    "event.dataset",
    "event.provider",
    "host.os.type",
    "host.os.family",
    "host.os.platform",
    "agent.type",
    "network.direction",
    "network.transport",
    "network.protocol",
    "ecs.version",
];

/// Atoms scoring below this are not used: a single byte, or two of the
/// commonest path and command-line characters, would hit on most values.
pub const MIN_QUALITY: u32 = 4;

/// How selective an atom is likely to be: each byte counts, bytes common in
/// Windows paths and command lines count less, repeated bytes count less.
///
/// ```
/// use detect_core::compile::atoms::quality;
/// assert!(quality("msiexec") > quality(".exe"));
/// assert!(quality("://") < quality("http"));
/// assert!(quality("aaaaaa") < quality("abcdef"));
/// ```
pub fn quality(text: &str) -> u32 {
    quality_bytes(text.as_bytes())
}

/// The atoms any match of `expr` must contain, or `None` when no usable set exists.
///
/// ```
/// use detect_core::compile::atoms::required_atoms;
/// use detect_core::ir::*;
/// let test = |f: &str, s: &str| Expr::Field(FieldTest {
///     field: f.into(),
///     test: Test::Str(StrPattern { kind: StrKind::Contains(s.into()), case: Case::Insensitive }),
/// });
/// let e = Expr::And(vec![test("Image", "rundll32"), test("CommandLine", "javascript:")]);
/// let atoms = required_atoms(&e).unwrap();
/// assert_eq!(atoms.len(), 1);
/// assert_eq!(atoms[0].text, "javascript:");
/// assert!(required_atoms(&Expr::Not(Box::new(test("Image", "rundll32")))).is_none());
/// ```
pub fn required_atoms(expr: &Expr) -> Option<Vec<Atom>> {
    required_atoms_where(expr, &|_| true)
}

/// Like [`required_atoms`], taking atoms only from fields for which `usable`
/// is true. The code generator leaves out the fields that the log source
/// dispatch already decides on (`Channel`, `EventID`): a rule's own
/// `EventID: 4625` is true of every event routed to it, so as an atom it would
/// let the rule through on every such event, while a weaker-looking literal
/// on another field (`TargetUserName|startswith: admin`) actually filters.
///
/// ```
/// use detect_core::compile::atoms::required_atoms_where;
/// use detect_core::ir::*;
/// let test = |f: &str, s: &str| Expr::Field(FieldTest {
///     field: f.into(),
///     test: Test::Str(StrPattern { kind: StrKind::Exact(s.into()), case: Case::Insensitive }),
/// });
/// let e = Expr::And(vec![test("EventID", "4625"), test("TargetUserName", "admin")]);
/// let atoms = required_atoms_where(&e, &|f| f != "EventID").unwrap();
/// assert_eq!(atoms[0].field, "TargetUserName");
/// ```
pub fn required_atoms_where(expr: &Expr, usable: &dyn Fn(&str) -> bool) -> Option<Vec<Atom>> {
    let mut atoms = atoms_of(expr, usable)?;
    atoms.sort();
    atoms.dedup();
    Some(atoms)
}

/// Most atom groups kept per expression by [`required_atom_groups_where`].
pub const MAX_ATOM_GROUPS: usize = 4;

/// Independent atom groups of `expr`: each is a set of atoms one of which
/// occurs whenever `expr` matches, so a prefilter may require a hit in
/// *every* group. For an `And` (nested ones flattened), each child with
/// atoms gives a group; anything else gives the single set of
/// [`required_atoms_where`]. Groups come best first (by their weakest atom's
/// quality), at most [`MAX_ATOM_GROUPS`]; empty when there is no usable atom.
///
/// One group per `And` chose the literal that *looks* best, and looks can
/// mislead: in `Image|endswith: '\csi.exe' and Company: 'Microsoft
/// Corporation'`, the longer literal is the one that occurs in most process
/// creations. Requiring both groups lets the rare one do the filtering.
///
/// ```
/// use detect_core::compile::atoms::required_atom_groups_where;
/// use detect_core::ir::*;
/// let test = |f: &str, s: &str| Expr::Field(FieldTest {
///     field: f.into(),
///     test: Test::Str(StrPattern { kind: StrKind::Suffix(s.into()), case: Case::Insensitive }),
/// });
/// let e = Expr::And(vec![test("Image", "\\csi.exe"), test("Company", "Microsoft Corporation")]);
/// let groups = required_atom_groups_where(&e, &|_| true);
/// assert_eq!(groups.len(), 2);
/// assert_eq!(groups[0][0].field, "Company");
/// assert_eq!(groups[1][0].text, "\\csi.exe");
/// ```
pub fn required_atom_groups_where(expr: &Expr, usable: &dyn Fn(&str) -> bool) -> Vec<Vec<Atom>> {
    fn flatten<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::And(children) => children.iter().for_each(|c| flatten(c, out)),
            e => out.push(e),
        }
    }
    let mut groups: Vec<Vec<Atom>> = Vec::new();
    if let Expr::And(_) = expr {
        let mut children = Vec::new();
        flatten(expr, &mut children);
        for child in children {
            if let Some(mut atoms) = atoms_of(child, usable) {
                atoms.sort();
                atoms.dedup();
                if !groups.contains(&atoms) {
                    groups.push(atoms);
                }
            }
        }
    } else if let Some(atoms) = required_atoms_where(expr, usable) {
        groups.push(atoms);
    }
    // Best first, as `atoms_of` ranks the children of an `And`.
    groups.sort_by_key(|g| std::cmp::Reverse((weakest(g), std::cmp::Reverse(g.len()))));
    groups.truncate(MAX_ATOM_GROUPS);
    groups
}

/// Most alternatives given by [`required_atom_alternatives_where`].
pub const MAX_ALTERNATIVES: usize = 8;

/// Alternatives of atom groups of `expr`: whenever `expr` matches, every
/// group of some alternative has a hit (each group as in
/// [`required_atom_groups_where`]). Empty when there is no usable atom.
///
/// Sigma's commonest condition, `1 of selection_* and not 1 of filter_*`,
/// is an `And` whose atoms come from an `Or`: as one group, that is each
/// selection's best-looking literal, and one selection's may be common
/// (`Image|contains: '\Windows\'`, next to a `CommandLine` test that
/// rarely holds). Here each branch of the first such `Or` (at most
/// [`MAX_ALTERNATIVES`] branches, one of them with several groups of its
/// own) is an alternative, with its own groups and those of the `And`'s
/// other children; any other expression is one alternative, its
/// [`required_atom_groups_where`].
///
/// ```
/// use detect_core::compile::atoms::required_atom_alternatives_where;
/// use detect_core::ir::*;
/// let test = |f: &str, s: &str| Expr::Field(FieldTest {
///     field: f.into(),
///     test: Test::Str(StrPattern { kind: StrKind::Contains(s.into()), case: Case::Insensitive }),
/// });
/// let e = Expr::And(vec![
///     Expr::Or(vec![
///         Expr::And(vec![test("Image", "\\windows\\"), test("CommandLine", "\\..\\..\\")]),
///         test("CommandLine", ".exe\\..\\"),
///     ]),
///     Expr::Not(Box::new(test("CommandLine", "googledrivesync"))),
/// ]);
/// let alts = required_atom_alternatives_where(&e, &|_| true);
/// assert_eq!(alts.len(), 2);
/// assert_eq!(alts[0].len(), 2); // `\windows\` and `\..\..\` both needed
/// assert_eq!(alts[1].len(), 1);
/// ```
pub fn required_atom_alternatives_where(
    expr: &Expr,
    usable: &dyn Fn(&str) -> bool,
) -> Vec<Vec<Vec<Atom>>> {
    let one = || {
        let groups = required_atom_groups_where(expr, usable);
        if groups.is_empty() {
            Vec::new()
        } else {
            vec![groups]
        }
    };
    let children: Vec<&Expr> = match expr {
        Expr::And(children) => children.iter().collect(),
        e => vec![e],
    };
    // An `Or` whose branches each give one group at most (a list of values
    // of one field) says nothing more as alternatives than as one group.
    let Some((k, branches)) = children.iter().enumerate().find_map(|(i, c)| match c {
        Expr::Or(branches)
            if (2..=MAX_ALTERNATIVES).contains(&branches.len())
                && branches
                    .iter()
                    .any(|b| required_atom_groups_where(b, usable).len() > 1) =>
        {
            Some((i, branches))
        }
        _ => None,
    }) else {
        return one();
    };
    let others: Vec<Expr> = children
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != k)
        .map(|(_, c)| (*c).clone())
        .collect();
    let mut alternatives = Vec::new();
    for branch in branches {
        let mut all = others.clone();
        all.push(branch.clone());
        let groups = required_atom_groups_where(&Expr::And(all), usable);
        if groups.is_empty() {
            // This branch can match with no atom at all.
            return Vec::new();
        }
        alternatives.push(groups);
    }
    alternatives
}

fn weakest(atoms: &[Atom]) -> u32 {
    atoms.iter().map(|a| quality(&a.text)).min().unwrap_or(0)
}

fn atoms_of(expr: &Expr, usable: &dyn Fn(&str) -> bool) -> Option<Vec<Atom>> {
    match expr {
        Expr::And(children) => children
            .iter()
            .filter_map(|c| atoms_of(c, usable))
            .max_by_key(|atoms| (weakest(atoms), std::cmp::Reverse(atoms.len()))),
        Expr::Or(children) => {
            if children.is_empty() {
                return None;
            }
            let mut all = Vec::new();
            for c in children {
                all.extend(atoms_of(c, usable)?);
            }
            Some(all)
        }
        Expr::Not(_) => None,
        Expr::Keyword(p) => pattern_atom(KEYWORDS, p),
        Expr::Field(ft) if !usable(&ft.field) => None,
        Expr::Field(ft) if CATEGORICAL_FIELDS.contains(&ft.field.as_str()) => None,
        Expr::Field(ft) => match &ft.test {
            Test::Str(p) => pattern_atom(&ft.field, p),
            Test::Regex(re) => regex_atom(&ft.field, re),
            _ => None,
        },
    }
}

/// The atom of a string test on `field`: its longest literal (if
/// case-insensitive, folded, and its best run of [`foldable_in_atom`]
/// characters), if it is worth a lookup.
fn pattern_atom(field: &str, p: &crate::ir::StrPattern) -> Option<Vec<Atom>> {
    let literal = longest_literal(&p.kind)?;
    let texts = match p.case {
        Case::Sensitive => vec![literal.to_string()],
        Case::Insensitive => {
            let folded = crate::matcher::fold(literal);
            let run = best_foldable_run(&folded);
            match case_spellings(&folded) {
                Some(all) if all.iter().map(|t| quality(t)).min() > Some(quality(&run)) => all,
                _ => vec![run],
            }
        }
    };
    texts.iter().all(|t| quality(t) >= MIN_QUALITY).then(|| {
        texts
            .into_iter()
            .map(|text| Atom {
                field: field.to_string(),
                text,
            })
            .collect()
    })
}

/// Most spellings [`case_spellings`] gives for one literal.
const MAX_SPELLINGS: usize = 8;

/// Every spelling of a folded case-insensitive literal that differs in the
/// non-ASCII characters the prefilter cannot fold (ASCII stays as is: the
/// automaton folds it), if there are at most [`MAX_SPELLINGS`]: `а`
/// (CYRILLIC SMALL LETTER A, from a SigmaHQ homoglyph rule) is matched by
/// `а` and `А`, so both are atoms, one of which must occur.
fn case_spellings(folded: &str) -> Option<Vec<String>> {
    // Most literals are ASCII: one spelling, the literal itself.
    if folded.is_ascii() {
        return Some(vec![folded.to_string()]);
    }
    let mut out = vec![String::new()];
    for c in folded.chars() {
        let variants = case_variants(c);
        if variants.len() == 1 {
            out.iter_mut().for_each(|s| s.push(c));
            continue;
        }
        if out.len() * variants.len() > MAX_SPELLINGS {
            return None;
        }
        out = out
            .iter()
            .flat_map(|prefix| {
                variants.iter().map(move |v| {
                    let mut s = prefix.clone();
                    s.push(*v);
                    s
                })
            })
            .collect();
    }
    Some(out)
}

/// The characters a case-insensitive pattern character `c` (folded) matches
/// in a text, as far as the prefilter's automaton cannot tell them apart:
/// `[c]` for ASCII (the automaton folds it; the two non-ASCII characters
/// that fold into ASCII are handled by the prefilter on its own) and for
/// characters nothing else folds to, else `c` and every character whose
/// fold is `c`.
fn case_variants(c: char) -> Vec<char> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    // Non-ASCII fold targets, each with the characters that fold to it.
    static SOURCES: OnceLock<HashMap<char, Vec<char>>> = OnceLock::new();
    if c.is_ascii() {
        return vec![c];
    }
    let sources = SOURCES.get_or_init(|| {
        let mut map: HashMap<char, Vec<char>> = HashMap::new();
        for other in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let folded = crate::matcher::fold_char(other);
            if folded != other && !folded.is_ascii() {
                map.entry(folded).or_default().push(other);
            }
        }
        map
    });
    let mut out = vec![c];
    if let Some(more) = sources.get(&c) {
        out.extend(more.iter().copied().filter(|&o| o != c));
    }
    out
}

fn longest_literal(kind: &StrKind) -> Option<&str> {
    match kind {
        StrKind::Exact(s) | StrKind::Prefix(s) | StrKind::Suffix(s) | StrKind::Contains(s) => {
            Some(s)
        }
        StrKind::Glob(tokens) => tokens
            .iter()
            .filter_map(|t| match t {
                GlobToken::Lit(s) => Some(s.as_str()),
                _ => None,
            })
            .max_by_key(|s| quality(s)),
    }
}

/// The best-scoring run of characters that may stand in an atom of a
/// case-insensitive (already folded) pattern.
fn best_foldable_run(folded: &str) -> String {
    folded
        .split(|c: char| !foldable_in_atom(c))
        .max_by_key(|run| quality(run))
        .unwrap_or("")
        .to_string()
}

/// Whether a character of a folded case-insensitive pattern may be part of
/// an atom: the prefilter's automaton folds ASCII letters only, so a
/// character qualifies if it is ASCII or if no other character folds to it
/// (see [`crate::matcher::fold_char`]): then every text the pattern matches
/// holds its exact bytes. Emoji, CJK, punctuation and symbols qualify; `ä`
/// (folded from `Ä`) and `k` (from the KELVIN SIGN, which the prefilter
/// handles on its own) do not need to, or cannot.
///
/// ```
/// use detect_core::compile::atoms::foldable_in_atom;
/// assert!(foldable_in_atom('a'));
/// assert!(foldable_in_atom('😂'));
/// assert!(foldable_in_atom('→'));
/// assert!(!foldable_in_atom('ä'));
/// assert!(!foldable_in_atom('Ä'));
/// ```
pub fn foldable_in_atom(c: char) -> bool {
    use std::sync::OnceLock;
    // Every non-ASCII character that some other character folds to, or that
    // folds to something else: sorted, for a binary search.
    static NOT_SELF_ONLY: OnceLock<Vec<char>> = OnceLock::new();
    if c.is_ascii() {
        return true;
    }
    let table = NOT_SELF_ONLY.get_or_init(|| {
        let mut out = Vec::new();
        for other in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let folded = crate::matcher::fold_char(other);
            if folded != other {
                out.push(other);
                if !folded.is_ascii() {
                    out.push(folded);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    });
    table.binary_search(&c).is_err()
}

/// Most syntax-tree nodes of one regex walked for atoms: a bigger pattern
/// yields no atom (its rule is always evaluated) rather than slow the build.
pub const REGEX_MAX_NODES: usize = 10_000;

/// The atoms of a regex test on `field`.
fn regex_atom(field: &str, re: &RegexPattern) -> Option<Vec<Atom>> {
    let texts = regex_atoms(&re.full_pattern())?;
    Some(
        texts
            .into_iter()
            .map(|text| Atom {
                field: field.to_string(),
                text,
            })
            .collect(),
    )
}

/// Literals one of which every match of the regex `full_pattern` (as given to
/// `regex::Regex::new`, flags inline, see
/// [`RegexPattern::full_pattern`](crate::ir::RegexPattern::full_pattern))
/// contains, sorted; `None` if there is no usable set (or the pattern does not
/// parse, or has more than [`REGEX_MAX_NODES`] nodes).
///
/// The pattern is parsed by `regex-syntax`, the parser of the regex engine
/// that runs it, and its `Hir` walked:
///
/// * a literal stands for its exact bytes, and so does a class of one
///   character; a class of one ASCII letter up to case (`[Kk]`, or what `(?i)k`
///   becomes: `[Kk\u{212A}]`) stands for that letter, lowercase. Consecutive
///   ones in a concatenation join into one run; zero-width assertions and
///   empty expressions inside a run are skipped, groups are transparent;
/// * a concatenation takes its best candidate (as `And` does): each run, or
///   the set of any other item;
/// * an alternation needs a set from every branch, and takes them all;
/// * a repetition needs its sub-expression's set if it repeats at least
///   once, and has none if it may be absent.
///
/// The parser runs with the settings `regex::Regex::new` uses (Unicode on,
/// UTF-8 only, the same nesting limit), so the tree is the one the engine
/// compiles. Why the atoms are sound:
///
/// * in the `Hir`, `(?i)` is already spelled out: a character with other
///   case forms becomes the class of them all (`(?i)ä` is `[Ää]`, which
///   breaks a run), and a literal matches its bytes exactly. So non-ASCII
///   characters of literals may stand in an atom whatever
///   [`foldable_in_atom`] says (that test is for the matchers' own folding
///   of `Str` patterns): the regex is case-sensitive for them, and the
///   prefilter's automaton compares non-ASCII bytes exactly and only widens
///   ASCII ones (a case-sensitive `Abc` gives the atom `Abc`, found in `abc`
///   too, which is a superset);
/// * a class of one letter up to case stands for its ASCII letter. Members
///   are compared after ASCII lowercasing and mapping the KELVIN SIGN to `k`
///   and LONG S (U+017F) to `s`: those two are the only non-ASCII characters
///   that Unicode simple case folding, which `(?i)` uses, puts in the class
///   of an ASCII letter, and a value holding either makes the prefilter mark
///   every rule of its field (see [`crate::prefilter`]), since the automaton
///   cannot see them as `k` or `s`.
///
/// ```
/// use detect_core::compile::atoms::regex_atoms;
/// let atoms = |p: &str| regex_atoms(p).unwrap_or_default();
/// assert_eq!(atoms(r"(?i)\$\{?input\}?|noexit.+\-c"), ["input", "noexit"]);
/// assert_eq!(atoms(r"(?i)MimiKatz"), ["mimikatz"]);
/// assert_eq!(atoms(r"evil(\.exe)?\s+-enc"), ["evil"]);
/// assert_eq!(atoms(r"(?i)\w+\.exe"), [".exe"]);
/// assert!(regex_atoms(r"(?i)\w+\.e").is_none()); // `.e` is too weak
/// assert!(regex_atoms(r"(unclosed").is_none());
/// ```
pub fn regex_atoms(full_pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::Parser::new().parse(full_pattern).ok()?;
    let mut budget = REGEX_MAX_NODES;
    if !within_budget(&hir, &mut budget) {
        return None;
    }
    let mut texts = hir_atoms(&hir)?;
    texts.sort();
    texts.dedup();
    Some(texts)
}

/// Counts the nodes of `hir` down from `budget`; false when it runs out.
fn within_budget(hir: &Hir, budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    match hir.kind() {
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => true,
        HirKind::Repetition(r) => within_budget(&r.sub, budget),
        HirKind::Capture(c) => within_budget(&c.sub, budget),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().all(|s| within_budget(s, budget))
        }
    }
}

/// The literals one of which every match of `hir` contains, each of at
/// least [`MIN_QUALITY`]; `None` if there is no such set.
fn hir_atoms(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Repetition(r) if r.min == 0 => None,
        HirKind::Repetition(r) => hir_atoms(&r.sub),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(hir_atoms(b)?);
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        HirKind::Literal(_) | HirKind::Class(_) | HirKind::Concat(_) | HirKind::Capture(_) => {
            sequence_atoms(hir)
        }
    }
}

/// The best set of a sequence of items (a concatenation, groups flattened):
/// each run of single characters, or any other item's own set.
fn sequence_atoms(hir: &Hir) -> Option<Vec<String>> {
    fn flatten<'h>(hir: &'h Hir, out: &mut Vec<&'h Hir>) {
        match hir.kind() {
            HirKind::Concat(subs) => subs.iter().for_each(|s| flatten(s, out)),
            HirKind::Capture(c) => flatten(&c.sub, out),
            _ => out.push(hir),
        }
    }
    fn consider(best: &mut Option<Vec<String>>, candidate: Option<Vec<String>>) {
        let key = |atoms: &[String]| {
            let weakest = atoms.iter().map(|a| quality(a)).min().unwrap_or(0);
            (weakest, std::cmp::Reverse(atoms.len()))
        };
        if let Some(c) = candidate
            && best.as_ref().is_none_or(|b| key(&c) > key(b))
        {
            *best = Some(c);
        }
    }
    /// A completed run as a candidate: whole UTF-8 characters and good enough.
    fn run_atom(run: &mut Vec<u8>) -> Option<Vec<String>> {
        let text = String::from_utf8(std::mem::take(run)).ok()?;
        (quality(&text) >= MIN_QUALITY).then(|| vec![text])
    }
    let mut items = Vec::new();
    flatten(hir, &mut items);
    let mut best = None;
    let mut run: Vec<u8> = Vec::new();
    for item in items {
        match item.kind() {
            HirKind::Literal(lit) => run.extend_from_slice(&lit.0),
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Class(class) => match one_char(class) {
                Some(c) => run.extend_from_slice(c.as_bytes()),
                None => consider(&mut best, run_atom(&mut run)),
            },
            _ => {
                consider(&mut best, run_atom(&mut run));
                consider(&mut best, hir_atoms(item));
            }
        }
    }
    consider(&mut best, run_atom(&mut run));
    best
}

/// The text a class stands for in a run, if it matches one character only
/// up to ASCII case (`[Kk]`, `(?i)k` = `[Kk\u{212A}]`, `(?i)s` = `[Ssſ]`,
/// which the prefilter handles, see [`regex_atoms`]) or has one member.
fn one_char(class: &Class) -> Option<String> {
    /// Classes of one letter up to case have at most three members.
    const MAX_MEMBERS: u32 = 4;
    let fold = |c: char| match c {
        '\u{212A}' => 'k',
        '\u{17F}' => 's',
        c => c.to_ascii_lowercase(),
    };
    match class {
        Class::Unicode(u) => {
            let mut members = 0u32;
            let mut only: Option<char> = None;
            for r in u.ranges() {
                members += u32::from(r.end()) - u32::from(r.start()) + 1;
                if members > MAX_MEMBERS {
                    return None;
                }
                for c in r.start()..=r.end() {
                    let f = fold(c);
                    if only.is_some_and(|o| o != f) {
                        return None;
                    }
                    only = Some(f);
                }
            }
            let c = only?;
            if members == 1 {
                // One member, matched exactly: `fold` may have mapped it.
                return Some(u.ranges()[0].start().to_string());
            }
            c.is_ascii().then(|| c.to_string())
        }
        Class::Bytes(b) => {
            let mut members = 0u32;
            let mut only: Option<u8> = None;
            for r in b.ranges() {
                members += u32::from(r.end()) - u32::from(r.start()) + 1;
                if members > MAX_MEMBERS {
                    return None;
                }
                for c in r.start()..=r.end() {
                    let f = c.to_ascii_lowercase();
                    if only.is_some_and(|o| o != f) {
                        return None;
                    }
                    only = Some(f);
                }
            }
            // A byte class is only usable as text if ASCII: a lone non-ASCII
            // byte is not a character.
            only.filter(|c| c.is_ascii())
                .map(|c| char::from(c).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_atoms_table() {
        let none: &[&str] = &[];
        let cases: &[(&str, &[&str])] = &[
            // Literals, case-sensitive: exact text, non-ASCII included.
            ("mimikatz", &["mimikatz"]),
            ("MimiKatz", &["MimiKatz"]),
            ("Straße", &["Straße"]),
            ("Ärger", &["Ärger"]),
            // `(?i)`: classes of one letter up to case join into a run,
            // lowercase; `ß` (with `ẞ`) and `ä` (with `Ä`) break it.
            ("(?i)MimiKatz", &["mimikatz"]),
            ("(?i)kSk", &["ksk"]),
            ("(?i)task_kill", &["task_kill"]),
            ("(?i)straße_xyz", &["e_xyz"]),
            ("(?i)ärgerlich", &["rgerlich"]),
            // Caseless characters stay literals under `(?i)`.
            ("(?i)→abc", &["→abc"]),
            ("(?-u:(?i)abcd)", &["abcd"]),
            // Alternation: every branch's set, or none.
            ("mimikatz|sekurlsa", &["mimikatz", "sekurlsa"]),
            ("(?i)\\$\\{?input\\}?|noexit.+\\-c", &["input", "noexit"]),
            ("mimikatz|x", none),
            ("mimikatz|", none),
            ("(?:foobar|foobaz)qq", &["foobar", "foobaz"]),
            // Optional parts break the run and give nothing.
            ("ab(cdefgh)?ij", &["ab"]),
            ("abc(?:defgh)*", &["abc"]),
            ("x(cdefgh)?y", none),
            ("evil(\\.exe)?\\s+-enc", &["evil"]),
            // Repetitions of at least one: their sub-expression's set.
            ("x(cdefgh)+y", &["cdefgh"]),
            ("x(?:cdefgh){2,5}y", &["cdefgh"]),
            ("(?:ab|cd)+", &["ab", "cd"]),
            ("(?:ab|c)+", none),
            ("(?:abcd|wxyz){1,}", &["abcd", "wxyz"]),
            ("a{4}", none),
            // Classes: one character (up to ASCII case) joins a run, more
            // break it.
            ("ab[c]de", &["abcde"]),
            ("[Kk]ey[Ll]og", &["keylog"]),
            ("ab[cd]efgh", &["efgh"]),
            ("\\d+\\.exe", &[".exe"]),
            ("\\d+\\.e", none),
            ("[\u{212A}k]ill[s\u{17F}]", &["kills"]),
            // Captures are transparent, anchors and boundaries zero-width.
            ("ab(cd)ef", &["abcdef"]),
            ("(?P<n>ab(?:c(d)))ef", &["abcdef"]),
            ("^abc$", &["abc"]),
            ("(?m)^ab\\bcd$", &["abcd"]),
            ("\\bcmd\\.exe\\b", &["cmd.exe"]),
            // The best candidate of a concatenation: its weakest atom.
            ("abcdef.*xy|uvwxyz", &["abcdef", "uvwxyz"]),
            ("(?:ab|cd)zzzz.*powershell", &["powershell"]),
            ("(?:abcd|efgh).{2}ij", &["abcd", "efgh"]),
            // Too weak, nothing at all, invalid.
            ("a.b", none),
            (".*", none),
            ("", none),
            ("(unclosed", none),
            ("a{99999999}", none),
        ];
        let mut wrong = Vec::new();
        for (pattern, expected) in cases {
            let got = regex_atoms(pattern).unwrap_or_default();
            if got != *expected {
                wrong.push(format!("{pattern:?}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn regex_atoms_of_flagged_patterns() {
        let atoms = |pattern: &str, case_insensitive: bool| {
            let re = RegexPattern {
                pattern: pattern.into(),
                case_insensitive,
                multi_line: true,
                dot_all: true,
            };
            regex_atom("F", &re).map(|a| a.into_iter().map(|a| a.text).collect::<Vec<_>>())
        };
        assert_eq!(atoms("Ärger", false).unwrap(), ["Ärger"]);
        assert_eq!(atoms("Ärger", true).unwrap(), ["rger"]);
        assert_eq!(atoms("^mimi.*katz$", true).unwrap(), ["katz"]);
    }

    #[test]
    fn huge_regexes_give_no_atom() {
        let big = (0..20_000)
            .map(|i| format!("w{i:05}"))
            .collect::<Vec<_>>()
            .join("|");
        assert!(regex_atoms(&big).is_none());
        let fits = (0..1_000)
            .map(|i| format!("w{i:05}"))
            .collect::<Vec<_>>()
            .join("|");
        assert_eq!(regex_atoms(&fits).unwrap().len(), 1_000);
    }

    #[test]
    fn regex_tests_give_atoms_in_expressions() {
        use crate::ir::FieldTest;
        let re = |f: &str, p: &str| {
            Expr::Field(FieldTest {
                field: f.into(),
                test: Test::Regex(RegexPattern {
                    pattern: p.into(),
                    case_insensitive: false,
                    multi_line: false,
                    dot_all: false,
                }),
            })
        };
        let e = Expr::Or(vec![re("A", "mimikatz"), re("B", "(?i)sekurlsa")]);
        let atoms = required_atoms(&e).unwrap();
        assert_eq!(atoms.len(), 2);
        assert_eq!(
            (atoms[0].field.as_str(), atoms[0].text.as_str()),
            ("A", "mimikatz")
        );
        assert_eq!(
            (atoms[1].field.as_str(), atoms[1].text.as_str()),
            ("B", "sekurlsa")
        );
        assert!(required_atoms(&Expr::Or(vec![re("A", "mimikatz"), re("B", "a?")])).is_none());
        assert!(required_atoms(&re("event.action", "connection_attempted")).is_none());
    }
}
