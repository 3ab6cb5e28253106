//! Stable-toolchain smoke run of the `.py` rewriter's fuzz property
//! (`equip_wheel::source::fuzzing::rewrite_any`), for CI: seeds are the demo package's
//! sources (testwheels/src) and a few sources with encoding cookies, a BOM, CRLF line ends,
//! async code, decorators and deep nesting, mutated deterministically (whole lines dropped,
//! repeated, swapped or re-indented, Python keywords and brackets inserted, bytes flipped).
//! The real coverage-guided run is `scripts/fuzz.sh` (cargo fuzz, nightly).

mod common;

use common::Rng;

use equip_wheel::bytecode::fuzzing::fuzz_config;
use equip_wheel::source::fuzzing::rewrite_any;

const TOKENS: &[&str] = &[
    "return",
    "yield",
    "await ",
    "async ",
    "def f():",
    "class C:",
    "lambda: ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    "\\",
    "\"\"\"",
    "'",
    "f'{",
    "}'",
    "#",
    "try:",
    "finally:",
    "with x:",
    "global x",
    "nonlocal x",
    "@d",
    "\t",
    "    ",
    "\n",
    "\r\n",
    ";",
    "=",
    ":=",
    "*",
    "**",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = seed
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    for _ in 0..1 + rng.below(3) {
        let n = lines.len();
        match rng.below(7) {
            0 if n > 1 => {
                lines.remove(rng.below(n));
            }
            1 if n > 0 => {
                let l = lines[rng.below(n)].clone();
                lines.insert(rng.below(n + 1), l);
            }
            2 if n > 1 => lines.swap(rng.below(n), rng.below(n)),
            3 if n > 0 => {
                let i = rng.below(n);
                let indent = [&b""[..], b"    ", b"\t"][rng.below(3)];
                lines[i].splice(0..0, indent.iter().copied());
            }
            4 | 5 if n > 0 => {
                let i = rng.below(n);
                let at = rng.below(lines[i].len() + 1);
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                lines[i].splice(at..at, t.iter().copied());
            }
            _ if n > 0 => {
                let i = rng.below(n);
                if !lines[i].is_empty() {
                    let j = rng.below(lines[i].len());
                    lines[i][j] ^= 1 << rng.below(8);
                }
            }
            _ => {}
        }
    }
    lines.concat()
}

fn seeds() -> Vec<Vec<u8>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testwheels/src");
    let mut out = Vec::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                out.push(std::fs::read(path).unwrap());
            }
        }
    }
    assert!(!out.is_empty(), "testwheels/src holds the demo sources");
    out.push(b"# -*- coding: latin-1 -*-\ndef f(x='\xe9'):\n    return x\n".to_vec());
    out.push(b"\xef\xbb\xbfclass C:\r\n    def m(self):\r\n        return 1\r\n".to_vec());
    out.push(
        b"import functools\n\n@functools.wraps(print)\nasync def g(a, /, b=2, *c, d, **e):\n    \
          async with a as x:\n        async for y in b:\n            yield [z async for z in y]\n    \
          try:\n        return\n    finally:\n        pass\n"
            .to_vec(),
    );
    let mut deep = String::new();
    for level in 0..40 {
        deep += &format!("{}def f{level}():\n", "    ".repeat(level));
    }
    deep += &format!("{}return (((1)))\n", "    ".repeat(40));
    out.push(deep.into_bytes());
    out
}

#[test]
fn rewritten_sources_parse_on_mutated_sources() {
    let config = fuzz_config();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut rewritten, mut total) = (0, 0);
    for seed in seeds() {
        assert!(
            rewrite_any(&seed, &config),
            "the unmutated seed is rewritten"
        );
        for _ in 0..400 {
            rewritten += usize::from(rewrite_any(&mutate(&mut rng, &seed), &config));
            total += 1;
        }
    }
    eprintln!("{total} mutated sources, {rewritten} rewritten");
    assert!(
        rewritten > total / 10,
        "{rewritten} of {total} rewritten: the mutations are too harsh"
    );
}

#[test]
fn a_return_value_right_after_the_keyword_stays_the_value() {
    // The smoke run found `return[1]` rewritten to `return__equip_exit__(([1]))`, a name.
    let target = equip_wheel::module::ModuleTarget {
        module: "pkg.mod",
        file_name: "pkg/mod.py",
        hooks_module: "_equip_hooks_pkg",
    };
    let source = b"def f():\n    return[1]\n\ndef g():\n    return\"s\"\n";
    let out = equip_wheel::source::instrument(source, target, &fuzz_config())
        .unwrap()
        .new_bytes
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("return__equip"), "{text}");
    assert_eq!(text.matches("return __equip_exit__(").count(), 2, "{text}");
}

/// Soft keywords used as names (`match`, `case`, `type`) at the start of a statement that
/// entry code is joined to with `; `: the output must stay parseable.
#[test]
fn soft_keywords_as_names_after_joined_entry_code() {
    let calls = equip_wheel::config::Config::from_toml_str("preset = \"calls\"", "calls.toml")
        .expect("the calls preset");
    for first in [
        "match = pat.match(x)",
        "match(x).group(1)",
        "match[x] = 1",
        "match * 2",
        "match, b = 1, 2",
        "match.x = 3",
        "match: int = 2",
        "case = 1",
        "type = 2",
        "type(x)",
    ] {
        for shape in [
            "def f(x):\n    {first}\n    return x\n",
            "def f(x): {first}\n",
            "def f(x):\n    {first}\n",
            "def f(x):\n    \"\"\"Doc.\"\"\"\n    {first}\n    return x\n",
            "def f(x):\n    y = 1\n    {first}\n    return x\n",
        ] {
            let source = shape.replace("{first}", first);
            for config in [&fuzz_config(), &calls] {
                assert!(rewrite_any(source.as_bytes(), config), "{source}");
            }
        }
    }
}

/// A coroutine whose body is only its docstring (found by the `py_rewrite` fuzz target: the
/// rewriter indexed the first statement after the docstring, which is not there).
#[test]
fn a_coroutine_that_is_only_a_docstring() {
    let source = b"class C:\n    async def aclose(self):\n        \"\"\"Close.\"\"\"\n\n\nasync def f():\n    'Doc.'\n";
    assert!(rewrite_any(source, &fuzz_config()));
}
