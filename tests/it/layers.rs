//! The layers hold: `desk` knows no other module, `store` knows no edge and no worker, the
//! edges never import one another, no two modules import each other in a circle, and no
//! source file grows past what one person reads at a sitting. Read from `src/` as text, so
//! a forbidden `use` fails here, naming its file, before it ships.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The edges: each translates one outside world, and none knows another.
const EDGES: &[&str] = &["slack", "api", "portal", "jira", "socket"];
/// What `store` may know besides itself.
const STORE_MAY_USE: &[&str] = &["desk"];
/// The longest a source file may be, in lines.
const MAX_LINES: usize = 650;

/// The top-level module a file under `src/` belongs to (`src/desk/rules.rs` → `desk`,
/// `src/app.rs` → `app`); `None` for the crate root and the binary.
fn module_of(relative: &Path) -> Option<String> {
    let mut parts = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let first = parts.next()?;
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (!["lib", "main"].contains(&name.as_str())).then_some(name)
}

/// The top-level modules a file's code names through `crate::` (comments left out):
/// `use crate::store::X`, `crate::slack::api::f()`, `use crate::{desk::Y, store::Z}`.
fn modules_named(source: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `crate::{a::b, c}`: the first word of every item at the group's top level.
                let mut depth = 0;
                let mut item_start = true;
                let mut word = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_alphanumeric() || c == '_') => word.push(c),
                        _ if item_start && !word.is_empty() => {
                            named.insert(std::mem::take(&mut word));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
                if !word.is_empty() {
                    named.insert(word);
                }
            } else {
                let word: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !word.is_empty() {
                    named.insert(word);
                }
            }
            rest = after;
        }
    }
    named
}

/// Every rule a tree of sources breaks, one line each. `files`: path under `src/` and text.
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut broken = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, source) in files {
        let lines = source.lines().count();
        if lines > MAX_LINES {
            broken.push(format!("{}: {lines} lines, more than {MAX_LINES}", path.display()));
        }
        let Some(module) = module_of(path) else {
            continue;
        };
        let named: BTreeSet<String> = modules_named(source).into_iter().filter(|m| *m != module).collect();
        for other in &named {
            let rule = if module == "desk" {
                Some("desk knows no other module")
            } else if module == "metrics" {
                Some("metrics knows no other module: everyone counts into it")
            } else if module == "store" && !STORE_MAY_USE.contains(&other.as_str()) {
                Some("store knows no edge, no worker and no use case")
            } else if EDGES.contains(&module.as_str()) && EDGES.contains(&other.as_str()) {
                Some("an edge never imports another edge")
            } else {
                None
            };
            if let Some(rule) = rule {
                broken.push(format!("{}: uses crate::{other}, but {rule}", path.display()));
            }
        }
        graph.entry(module).or_default().extend(named);
    }
    for cycle in cycles(&graph) {
        broken.push(format!("modules import each other in a circle: {}", cycle.join(" → ")));
    }
    broken
}

/// Each circle of imports among the modules, found once (from its smallest module).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_owned());
                found.push(cycle);
            } else if next.as_str() > start && !path.contains(next) {
                path.push(next.clone());
                walk(graph, start, next, path, found);
                path.pop();
            }
        }
    }
    let mut found = Vec::new();
    for start in graph.keys() {
        walk(graph, start, start, &mut vec![start.clone()], &mut found);
    }
    found
}

fn sources(dir: &Path, root: &Path, into: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, root, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            into.push((path.strip_prefix(root).expect("under src/").to_owned(), text));
        }
    }
}

/// The tree checked: this crate's `src/`, or another (`DESKHAND_LAYERS_SRC`, to show what
/// an older tree breaks).
#[test]
fn the_layers_hold_and_no_module_imports_in_a_circle() {
    let root = std::env::var_os("DESKHAND_LAYERS_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    assert!(files.len() > 20, "the sources were found");
    let broken = violations(&files);
    assert!(broken.is_empty(), "the layers are broken:\n{}", broken.join("\n"));
}

fn tree(files: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    files.iter().map(|(p, s)| (PathBuf::from(p), (*s).to_owned())).collect()
}

#[test]
fn each_kind_of_break_is_named_with_its_file() {
    let broken = violations(&tree(&[
        ("desk/rules.rs", "use crate::store::ChannelRecord;"),
        ("store/requests.rs", "use crate::slack::events::SharedFile;"),
        (
            "store/config.rs",
            "use crate::desk::roles::Roles; // crate::sync in a comment is fine",
        ),
        ("slack/admin.rs", "use crate::{api::{self, Actor}, desk::Priority};"),
        ("api/mod.rs", "let e = crate::slack::api::SlackError::Timeout;"),
        ("sync/worker.rs", "use crate::admin::parked;"),
        ("admin/mod.rs", "use crate::sync::effects::Effect;"),
        ("metrics.rs", "use crate::store::Store;"),
    ]));
    let expect = [
        "desk/rules.rs: uses crate::store, but desk knows no other module",
        "store/requests.rs: uses crate::slack, but store knows no edge",
        "slack/admin.rs: uses crate::api, but an edge never imports another edge",
        "api/mod.rs: uses crate::slack, but an edge never imports another edge",
        "metrics.rs: uses crate::store, but metrics knows no other module",
        "modules import each other in a circle: admin → sync → admin",
        "modules import each other in a circle: api → slack → api",
        "modules import each other in a circle: desk → store → desk",
        "modules import each other in a circle: desk → store → slack → desk",
    ];
    for expected in expect {
        assert!(
            broken.iter().any(|b| b.starts_with(expected)),
            "{expected:?} not found in {broken:#?}"
        );
    }
    assert_eq!(broken.len(), expect.len(), "nothing else is reported: {broken:#?}");
}

#[test]
fn a_long_file_is_named() {
    let long = "fn f() {}\n".repeat(MAX_LINES + 1);
    let broken = violations(&[(PathBuf::from("sync/apply.rs"), long)]);
    assert_eq!(
        broken,
        vec![format!("sync/apply.rs: {} lines, more than {MAX_LINES}", MAX_LINES + 1)]
    );
}
