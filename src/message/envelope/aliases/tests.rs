use super::*;

/// The names and their targets a file gives.
type Table = &'static [(&'static str, &'static [&'static str])];
/// The warnings: the line of each and a word its message must contain.
type Warnings = &'static [(usize, &'static str)];

/// One parse: the file, then what it gives (the table and the warnings), or the line and a word of
/// the syntax error.
struct Row {
    name: &'static str,
    file: &'static str,
    want: Result<(Table, Warnings), (usize, &'static str)>,
}

const ROWS: &[Row] = &[
    Row {
        name: "one alias, one target",
        file: "root: admin@example.org\n",
        want: Ok((&[("root", &["admin@example.org"])], &[])),
    },
    Row {
        name: "several targets, spaces and an empty element",
        file: "ops: anna,  bob@example.org , ,carl\n",
        want: Ok((&[("ops", &["anna", "bob@example.org", "carl"])], &[])),
    },
    Row {
        name: "comments and blank lines are ignored",
        file: "# Debian's file\n\n   # indented comment\npostmaster: root\n\nroot: admin\n",
        want: Ok((&[("postmaster", &["root"]), ("root", &["admin"])], &[])),
    },
    Row {
        name: "continuation lines join the entry above, a comment between them too",
        file: "staff: a@x,\n  b@x,\n# between\n\tc@x\n",
        want: Ok((&[("staff", &["a@x", "b@x", "c@x"])], &[])),
    },
    Row {
        name: "names are lowercased",
        file: "Root: admin\n",
        want: Ok((&[("root", &["admin"])], &[])),
    },
    Row {
        name: "a quoted name",
        file: "\"john doe\": john@example.org\n",
        want: Ok((&[("john doe", &["john@example.org"])], &[])),
    },
    Row {
        name: "a display-name target keeps its address",
        file: "boss: Big Boss <boss@example.org>\n",
        want: Ok((&[("boss", &["boss@example.org"])], &[])),
    },
    Row {
        name: "a quoted local part with a comma stays one target",
        file: "odd: \"a,b\"@example.org, c\n",
        want: Ok((&[("odd", &["\"a,b\"@example.org", "c"])], &[])),
    },
    Row {
        name: "a command target is refused with a warning, the rest kept",
        file: "list: |/usr/bin/procmail, anna\n",
        want: Ok((&[("list", &["anna"])], &[(1, "command")])),
    },
    Row {
        name: "a quoted command target is refused too",
        file: "majordomo: \"|/usr/lib/majordomo/wrapper majordomo\"\n",
        want: Ok((&[], &[(1, "command")])),
    },
    Row {
        name: "a file target is refused",
        file: "\narchive: /var/mail/archive, keeper\n",
        want: Ok((&[("archive", &["keeper"])], &[(2, "file")])),
    },
    Row {
        name: "an :include: target is refused, whatever its case",
        file: "staff: :INCLUDE:/etc/mail/staff\nother: x\n",
        want: Ok((&[("other", &["x"])], &[(1, ":include:")])),
    },
    Row {
        name: "every refused kind on one entry gives a warning each",
        file: "all: |cmd, /file, :include:/list\n",
        want: Ok((&[], &[(1, "command"), (1, "file"), (1, ":include:")])),
    },
    Row {
        name: "a duplicate name keeps the first entry, with a warning",
        file: "root: first\nroot: second\n",
        want: Ok((&[("root", &["first"])], &[(2, "line 1")])),
    },
    Row {
        name: "a duplicate differing in case is a duplicate",
        file: "root: first\nROOT: second\n",
        want: Ok((&[("root", &["first"])], &[(2, "given again")])),
    },
    Row {
        name: "UTF-8 targets and names (RFC 6532) are no :include: however they are cut",
        file: "josé: ééééé@example.org, üüüü\n",
        want: Ok((&[("josé", &["ééééé@example.org", "üüüü"])], &[])),
    },
    Row {
        name: "control characters in a refused target are escaped in the warning",
        file: "x: |a\x1b[2Jb, y\n",
        want: Ok((&[("x", &["y"])], &[(1, "`|a\\u{1b}[2Jb`")])),
    },
    Row {
        name: "an empty file",
        file: "",
        want: Ok((&[], &[])),
    },
    Row {
        name: "no colon",
        file: "root: a\nbroken line\n",
        want: Err((2, "no `:`")),
    },
    Row {
        name: "an empty name",
        file: ": a@x\n",
        want: Err((1, "empty alias name")),
    },
    Row {
        name: "no target",
        file: "root: a\n\nnobody:\n",
        want: Err((3, "no target")),
    },
    Row {
        name: "only commas",
        file: "nobody: , ,\n",
        want: Err((1, "no target")),
    },
    Row {
        name: "a continuation line first",
        file: "  a@x\n",
        want: Err((1, "continuation")),
    },
    Row {
        name: "an unclosed quote in the targets",
        file: "x: \"a@b\n",
        want: Err((1, "closing")),
    },
    Row {
        name: "an unclosed quoted name",
        file: "\"x: a\n",
        want: Err((1, "closing")),
    },
    Row {
        name: "a quoted name without a colon",
        file: "\"x\" a\n",
        want: Err((1, "no `:`")),
    },
    Row {
        name: "whitespace in an unquoted name",
        file: "john doe: john\n",
        want: Err((1, "quote it")),
    },
    Row {
        name: "a target that is not an address",
        file: "x: a@@b\n",
        want: Err((1, "not an address")),
    },
    Row {
        name: "a target that is two addresses",
        file: "x: a@b c@d\n",
        want: Err((1, "a@b c@d")),
    },
    Row {
        name: "the error names the line where the entry starts",
        file: "ok: a\nbad: b,\n  <<c\n",
        want: Err((2, "<<c")),
    },
];

#[test]
fn aliases_files_parse_as_the_table_says() {
    for row in ROWS {
        let got = parse(row.file);
        match (&row.want, got) {
            (Ok((aliases, warnings)), Ok(parsed)) => {
                let want: BTreeMap<String, Vec<String>> = aliases
                    .iter()
                    .map(|(n, t)| (n.to_string(), t.iter().map(|s| s.to_string()).collect()))
                    .collect();
                assert_eq!(parsed.aliases.entries, want, "{}", row.name);
                assert_eq!(
                    parsed.warnings.len(),
                    warnings.len(),
                    "{}: {:?}",
                    row.name,
                    parsed.warnings
                );
                for (w, (line, word)) in parsed.warnings.iter().zip(warnings.iter()) {
                    assert_eq!(w.line, *line, "{}: {w:?}", row.name);
                    assert!(w.message.contains(word), "{}: {w:?} lacks {word}", row.name);
                }
            }
            (Err((line, word)), Err(e)) => {
                assert_eq!(e.line, *line, "{}: {e}", row.name);
                assert!(
                    e.message.contains(word),
                    "{}: `{e}` lacks `{word}`",
                    row.name
                );
            }
            (want, got) => panic!("{}: wanted {:?}, got {got:?}", row.name, want.is_ok()),
        }
    }
}

/// One expansion: the file, the recipient, the maildomain, what it becomes (`None`: no alias applies).
struct Expansion {
    name: &'static str,
    file: &'static str,
    address: &'static str,
    domain: Option<&'static str>,
    want: Option<&'static [&'static str]>,
}

const EXPANSIONS: &[Expansion] = &[
    Expansion {
        name: "a name without an alias",
        file: "root: admin\n",
        address: "anna",
        domain: None,
        want: None,
    },
    Expansion {
        name: "one level",
        file: "root: admin@x\n",
        address: "root",
        domain: None,
        want: Some(&["admin@x"]),
    },
    Expansion {
        name: "recursively, in order",
        file: "postmaster: root\nroot: admin, ops\nops: a@x, b@x\n",
        address: "postmaster",
        domain: None,
        want: Some(&["admin", "a@x", "b@x"]),
    },
    Expansion {
        name: "case does not matter",
        file: "root: admin@x\n",
        address: "ROOT",
        domain: None,
        want: Some(&["admin@x"]),
    },
    Expansion {
        name: "an address at the maildomain is local",
        file: "root: admin@x\n",
        address: "root@Example.ORG",
        domain: Some("example.org"),
        want: Some(&["admin@x"]),
    },
    Expansion {
        name: "a target at the maildomain is followed too",
        file: "root: ops@example.org\nops: a@x\n",
        address: "root",
        domain: Some("example.org"),
        want: Some(&["a@x"]),
    },
    Expansion {
        name: "an address at another domain is not local",
        file: "root: admin@x\n",
        address: "root@elsewhere.org",
        domain: Some("example.org"),
        want: None,
    },
    Expansion {
        name: "without a maildomain only bare names are local",
        file: "root: admin@x\n",
        address: "root@example.org",
        domain: None,
        want: None,
    },
    Expansion {
        name: "an alias naming itself keeps the name (a mailbox and a copy)",
        file: "root: root, admin@x\n",
        address: "root",
        domain: None,
        want: Some(&["root", "admin@x"]),
    },
    Expansion {
        name: "a loop of two keeps the name where it loops",
        file: "a: b\nb: a\n",
        address: "a",
        domain: None,
        want: Some(&["a"]),
    },
    Expansion {
        name: "a loop of three entered in the middle",
        file: "a: b\nb: c, z@x\nc: a\n",
        address: "b",
        domain: None,
        want: Some(&["b", "z@x"]),
    },
    Expansion {
        name: "a name reached twice is given once",
        file: "all: x, y\nx: anna\ny: anna\n",
        address: "all",
        domain: None,
        want: Some(&["anna"]),
    },
    Expansion {
        name: "an entry whose every target was refused is no alias",
        file: "root: |/bin/true\n",
        address: "root",
        domain: None,
        want: None,
    },
];

#[test]
fn aliases_expand_recursively_and_stop_at_loops() {
    for row in EXPANSIONS {
        let parsed = parse(row.file).expect(row.name);
        let got = parsed.aliases.expand(row.address, row.domain);
        let want = row
            .want
            .map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(got, want, "{}", row.name);
    }
}

/// A file no one would write stays cheap: a chain deeper than [`MAX_DEPTH`] stops there, keeping the
/// name reached, and a lattice where every name lists the next two twice is expanded once per name.
#[test]
fn deep_and_wide_files_expand_in_bounded_time() {
    let chain: String = (0..10_000).map(|i| format!("a{i}: a{}\n", i + 1)).collect();
    let parsed = parse(&chain).expect("parses");
    assert_eq!(
        parsed.aliases.expand("a0", None),
        Some(vec![format!("a{MAX_DEPTH}")])
    );
    let lattice: String = (0..40)
        .map(|i| format!("l{i}: l{n}, m{n}\nm{i}: l{n}, m{n}\n", n = i + 1))
        .collect();
    let parsed = parse(&lattice).expect("parses");
    assert_eq!(
        parsed.aliases.expand("l0", None),
        Some(vec!["l40".to_owned(), "m40".to_owned()])
    );
}

#[test]
fn len_counts_the_names_kept() {
    let parsed = parse("a: x\nb: y\nc: |cmd\n").expect("parses");
    assert_eq!(parsed.aliases.len(), 2);
    assert!(!parsed.aliases.is_empty());
    assert!(parse("").expect("parses").aliases.is_empty());
}
