//! Very deeply nested `.py` sources (a `+`, attribute or `not` chain of 40,000 levels, 40,000
//! nested parentheses, plain or in an f-string's replacement field): each is a per-file
//! syntax-like outcome under `on-syntax-error` (skipped with a warning, or the wheel fails
//! naming the member), never a crash that loses the batch. Sources just under the nesting
//! limits (200 open brackets, brackets in strings and comments) are instrumented. A source of
//! 1,000,000 nested parentheses is refused before it is parsed, in bounded memory (peak RSS
//! of the child measured with `wait4`).

mod common;

use common::*;

fn parens(n: usize) -> String {
    format!("{}1{}", "(".repeat(n), ")".repeat(n))
}

fn members() -> Vec<Member> {
    let deep_plus = format!("def f(a):\n    return {}\n", vec!["a"; 40_000].join(" + "));
    let deep_attr = format!("def f(a):\n    return a{}\n", ".b".repeat(40_000));
    let deep_not = format!("def f(a):\n    return {}a\n", "not ".repeat(40_000));
    // The `def`, the `return`, 9,995 additions and the innermost operand: 9,998 levels.
    let edge = format!("def f(a):\n    return {}\n", vec!["a"; 9_996].join(" + "));
    let deep_parens = format!("def f(a):\n    return {}\n", parens(40_000));
    let deep_fstring = format!(
        "def f(a):\n    return {}{}{}\n",
        "f\"{".repeat(4),
        parens(40_000),
        "}\"".repeat(4)
    );
    // 200 open brackets (CPython's limit), and brackets CPython's tokenizer does not count.
    let fstring_field = format!("f\"{{{}}}\"", parens(199));
    let edge_parens = format!(
        "def f(a):\n    # {deep}\n    return {}, '{deep}', f'{{{{{deep}', {fstring_field}\n",
        parens(200),
        deep = "(".repeat(300)
    );
    let mut m = demo_members();
    m.push(Member::new("demo/deep_parens.py", deep_parens));
    m.push(Member::new("demo/deep_fstring.py", deep_fstring));
    m.push(Member::new("demo/edge_parens.py", edge_parens));
    m.push(Member::new("demo/deep_plus.py", deep_plus));
    m.push(Member::new("demo/deep_attr.py", deep_attr));
    m.push(Member::new("demo/deep_not.py", deep_not));
    m.push(Member::new("demo/edge.py", edge));
    m
}

#[test]
fn deep_sources_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("demo-1.0-py3-none-any.whl");
    let members = members();
    write_wheel(&wheel, &members);
    let out = equip(
        dir.path(),
        &["instrument", wheel.to_str().unwrap(), "-o", "out"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for name in [
        "deep_plus",
        "deep_attr",
        "deep_not",
        "deep_parens",
        "deep_fstring",
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("demo/{name}.py: not instrumented")))
            .unwrap_or_else(|| panic!("no warning for {name}:\n{stderr}"));
        assert!(line.contains("too many nested"), "{line}");
    }
    let written = read_zip(&dir.path().join("out/demo-1.0-py3-none-any.whl"));
    let data = |name: &str| {
        written
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, d)| d.clone())
            .unwrap()
    };
    for m in &members {
        if m.name.contains("deep_") {
            assert_eq!(data(&m.name), m.data, "{} changed", m.name);
        }
    }
    for name in ["demo/util.py", "demo/edge.py", "demo/edge_parens.py"] {
        let text = String::from_utf8(data(name)).unwrap();
        assert!(
            text.contains("_equip_"),
            "{name} not instrumented:\n{text:.300}"
        );
    }
}

#[test]
fn deep_sources_fail_the_wheel_under_fail() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("demo-1.0-py3-none-any.whl");
    write_wheel(&wheel, &members());
    std::fs::write(
        dir.path().join("equip.toml"),
        "preset = \"calls\"\non-syntax-error = \"fail\"\n",
    )
    .unwrap();
    let out = equip(
        dir.path(),
        &[
            "instrument",
            wheel.to_str().unwrap(),
            "-o",
            "out",
            "-c",
            "equip.toml",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("equip-wheel: error"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("demo/deep_") && errors[0].contains("too many nested"),
        "{}",
        errors[0]
    );
    assert!(files_under(&dir.path().join("out")).is_empty());
}

/// Peak RSS allowed for a wheel holding a 2 MB source of 1,000,000 nested parentheses: the
/// tool itself and the member's text, far below a parse tree of it (gigabytes).
const MILLION_PARENS_RSS_LIMIT: u64 = 100 << 20;

#[test]
fn a_million_nested_parentheses_are_refused_in_bounded_memory() {
    for policy in ["skip", "fail"] {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("demo-1.0-py3-none-any.whl");
        let source = format!("x = {}\n", parens(1_000_000));
        let mut members = demo_members();
        members.push(Member::new("demo/deep.py", source.clone()));
        write_wheel(&wheel, &members);
        let mut args = vec!["instrument", wheel.to_str().unwrap(), "-o", "out"];
        if policy == "fail" {
            std::fs::write(
                dir.path().join("equip.toml"),
                "preset = \"calls\"\non-syntax-error = \"fail\"\n",
            )
            .unwrap();
            args.extend(["-c", "equip.toml"]);
        }
        // The member is two repeated characters: past the compression-ratio limit.
        let (code, stderr, rss) =
            run_measured(dir.path(), &args, &[("EQUIP_WHEEL_MAX_RATIO", "100000")]);
        assert!(
            rss < MILLION_PARENS_RSS_LIMIT,
            "{policy}: peak RSS {} MiB",
            rss >> 20
        );
        let line = stderr
            .lines()
            .find(|l| l.contains("demo/deep.py"))
            .unwrap_or_else(|| panic!("{policy}: member not named:\n{stderr}"));
        assert!(line.contains("too many nested parentheses"), "{line}");
        if policy == "fail" {
            assert_eq!(code, 1, "{stderr}");
            assert!(files_under(&dir.path().join("out")).is_empty());
        } else {
            assert_eq!(code, 0, "{stderr}");
            let written = read_zip(&dir.path().join("out/demo-1.0-py3-none-any.whl"));
            let (_, _, data) = written
                .iter()
                .find(|(n, _, _)| n == "demo/deep.py")
                .unwrap();
            assert_eq!(data, source.as_bytes(), "demo/deep.py changed");
        }
    }
}
