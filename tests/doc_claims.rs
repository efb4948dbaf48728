//! The docs' mechanical claims, checked against the tree: every test a doc
//! cites exists, every relative link resolves (file and heading), and no file
//! holds an absolute path of the machine it was written on.
//!
//! Docs: `README.md`, `CHANGELOG.md` and `docs/*.md`. A citation is a code span
//! such as `` `crates/x/tests/y.rs::some_test` `` (the file must define
//! `fn some_test`), `` `::other_test` `` after one (same file), or a path such
//! as `` `tests/ui/case.rs` `` (must exist; `*` globs must match a file). A code
//! span that is a snake_case name of four words or more must name something in
//! the Rust sources, so a renamed test cannot stay cited by its old name.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents whose claims are checked.
fn documents() -> Vec<PathBuf> {
    let root = root();
    let mut docs = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    let mut more: Vec<_> = fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// Every file of the tree that is not build output or VCS data.
fn tree_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            // `.git` is a directory, or in a worktree a file naming one.
            if name == ".git" || name == "target" {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root(), &mut files);
    files
}

fn rust_sources() -> Vec<(PathBuf, String)> {
    tree_files()
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect()
}

/// The code spans of one line, in order.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

fn defines_fn(source: &str, name: &str) -> bool {
    source
        .match_indices(&format!("fn {name}"))
        .any(|(at, pattern)| !source[at + pattern.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

fn contains_word(source: &str, word: &str) -> bool {
    source.match_indices(word).any(|(at, _)| {
        let before = source[..at].chars().next_back();
        let after = source[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

fn is_long_snake_name(span: &str) -> bool {
    span.split('_').count() >= 4
        && span.starts_with(|c: char| c.is_ascii_lowercase())
        && span
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !span.contains("__")
}

/// Whether a repository path (possibly with one `*` in its file name) names a file.
fn path_exists(relative: &str) -> bool {
    let path = root().join(relative);
    let Some(name) = path.file_name().map(|name| name.to_string_lossy().into_owned()) else {
        return false;
    };
    match name.split_once('*') {
        None => path.exists(),
        Some((prefix, suffix)) => fs::read_dir(path.parent().unwrap()).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|entry| {
                let file = entry.file_name().to_string_lossy().into_owned();
                file.starts_with(prefix) && file.ends_with(suffix)
            })
        }),
    }
}

#[test]
fn every_test_a_doc_cites_exists() {
    let sources = rust_sources();
    let file_names: BTreeSet<String> = tree_files()
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = fs::read_to_string(&doc).unwrap();
        let doc_name = doc.strip_prefix(root()).unwrap().display().to_string();
        let mut in_code_block = false;
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code_block = !in_code_block;
                continue;
            }
            if in_code_block {
                continue;
            }
            let at = format!("{doc_name}:{}", number + 1);
            // The file that a following `::name` refers to, within this line.
            let mut file: Option<String> = None;
            for span in code_spans(line) {
                let (path, name) = match span.split_once("::") {
                    Some((path, name)) if path.ends_with(".rs") => (Some(path), Some(name)),
                    Some(("", name)) if file.is_some() => (None, Some(name)),
                    _ if span.ends_with(".rs") || span.ends_with(".md") => (Some(span), None),
                    _ => (None, None),
                };
                if let Some(path) = path {
                    checked += 1;
                    let found = if path.contains('/') {
                        path_exists(path)
                    } else if let Some((prefix, suffix)) = path.split_once('*') {
                        file_names
                            .iter()
                            .any(|name| name.starts_with(prefix) && name.ends_with(suffix))
                    } else {
                        file_names.contains(path)
                    };
                    if !found {
                        problems.push(format!("{at}: `{span}`: no file {path}"));
                        continue;
                    }
                    file = path.contains('/').then(|| path.to_owned());
                }
                if let (Some(name), Some(file)) = (name, &file) {
                    checked += 1;
                    let source = fs::read_to_string(root().join(file)).unwrap_or_default();
                    if !defines_fn(&source, name) {
                        problems.push(format!("{at}: `{span}`: {file} has no fn {name}"));
                    }
                } else if path.is_none() && is_long_snake_name(span) {
                    checked += 1;
                    if !sources.iter().any(|(_, source)| contains_word(source, span)) {
                        problems.push(format!("{at}: `{span}`: named nowhere in the Rust sources"));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs cite what does not exist:\n{}",
        problems.join("\n")
    );
    assert!(checked > 50, "only {checked} citations found: is the parser broken?");
}

/// GitHub's anchor for a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut in_code_block = false;
    markdown
        .lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                in_code_block = !in_code_block;
            }
            !in_code_block && line.starts_with('#')
        })
        .map(|line| slug(line.trim_start_matches('#')))
        .collect()
}

/// The targets of the inline links `[text](target)` of a document.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code_block = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code_block = !in_code_block;
            continue;
        }
        if in_code_block {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    targets
}

#[test]
fn every_relative_link_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = fs::read_to_string(&doc).unwrap();
        let doc_name = doc.strip_prefix(root()).unwrap().display().to_string();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if file.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(file)
            };
            if file.starts_with('/') || !linked.exists() {
                problems.push(format!("{doc_name}: link ({target}): no file {}", linked.display()));
                continue;
            }
            if !anchor.is_empty() {
                let linked_text = fs::read_to_string(&linked).unwrap_or_default();
                if !anchors(&linked_text).contains(anchor) {
                    problems.push(format!("{doc_name}: link ({target}): no heading #{anchor}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
    assert!(
        checked > 5,
        "only {checked} relative links found: is the parser broken?"
    );
}

#[test]
fn no_file_holds_an_absolute_path_of_a_machine() {
    // Split so that this file does not match itself.
    let patterns = [
        ["/wo", "rk/"].concat(),
        ["/ho", "me/"].concat(),
        ["/Us", "ers/"].concat(),
        ["/ro", "ot/"].concat(),
        ["C:", "\\"].concat(),
    ];
    let mut problems = Vec::new();
    for path in tree_files() {
        let Ok(text) = fs::read_to_string(&path) else {
            continue; // not text
        };
        for (number, line) in text.lines().enumerate() {
            if let Some(pattern) = patterns.iter().find(|pattern| line.contains(pattern.as_str())) {
                let name = path.strip_prefix(root()).unwrap().display();
                problems.push(format!("{name}:{}: contains {pattern}", number + 1));
            }
        }
    }
    assert!(problems.is_empty(), "absolute machine paths:\n{}", problems.join("\n"));
}
